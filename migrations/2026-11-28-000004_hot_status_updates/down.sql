-- Back to predicates on `status` (as 2026-11-27-000001_init and ..._booking_function made them).
CREATE OR REPLACE FUNCTION loket_book(
    p_max_active bigint, p_wait_for_clerk boolean,
    p_id uuid, p_code text, p_service uuid, p_staff uuid, p_period tstzrange,
    p_ends_at timestamptz, p_name text, p_phone text, p_email text, p_nik_cipher bytea,
    p_nik_last4 text, p_nik_masked text, p_nik_hash bytea, p_idempotency_key text,
    p_request_hash bytea
) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    active bigint;
    created timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('phone:' || p_phone, 0));
    SELECT count(*) INTO active FROM appointments
     WHERE citizen_phone = p_phone AND status IN ('booked', 'waiting', 'in_call');
    IF active >= p_max_active THEN
        RAISE EXCEPTION 'too many active bookings for one phone number'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_phone';
    END IF;
    IF p_wait_for_clerk THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('staff:' || p_staff::text, 0));
    ELSIF NOT pg_try_advisory_xact_lock(hashtextextended('staff:' || p_staff::text, 0)) THEN
        RAISE EXCEPTION 'another booking for this clerk is in progress'
            USING ERRCODE = 'lock_not_available', CONSTRAINT = 'appointments_clerk_busy';
    END IF;
    INSERT INTO appointments (id, code, service_id, staff_id, period, ends_at, citizen_name,
                              citizen_phone, citizen_email, nik_cipher, nik_last4, nik_masked,
                              nik_hash, idempotency_key, request_hash)
    VALUES (p_id, p_code, p_service, p_staff, p_period, p_ends_at, p_name, p_phone, p_email,
            p_nik_cipher, p_nik_last4, p_nik_masked, p_nik_hash, p_idempotency_key,
            p_request_hash)
    RETURNING created_at INTO created;
    RETURN created;
END
$$;

ALTER TABLE room_tickets RESET (fillfactor);
ALTER TABLE appointments RESET (fillfactor);

DROP INDEX appointments_active_phone_idx;
CREATE INDEX appointments_active_phone_idx ON appointments (citizen_phone)
    WHERE status IN ('booked', 'waiting', 'in_call');

ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
    EXCLUDE USING gist (staff_id WITH =, period WITH &&)
    WHERE (status IN ('booked', 'waiting', 'in_call'));

ALTER TABLE appointments DROP COLUMN active;
