-- Personal data kept only as long as needed (UU PDP, issue 13.5): `erased_at` marks an
-- appointment whose citizen name, phone, email, NIK and notes were wiped — by the retention job
-- or on the citizen's request. What reports need (service, clerk, times, status, the anonymous
-- survey) stays. The partial index finds the rows the retention job has still to do.
ALTER TABLE appointments ADD COLUMN erased_at TIMESTAMPTZ;
CREATE INDEX appointments_erasable_idx ON appointments (ends_at)
    WHERE erased_at IS NULL AND NOT active;
