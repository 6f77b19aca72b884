-- Holds cannot outlive the feature: end them first (they free their slots).
UPDATE appointments SET status = 'cancelled', hold_expires_at = NULL WHERE status = 'held';
DROP FUNCTION loket_book(bigint, bigint, bigint, tstzrange, boolean, uuid, text, uuid, uuid, tstzrange, timestamptz,
                         text, text, text, bytea, text, text, bytea, text, bytea, text, jsonb,
                         timestamptz, bytea, timestamptz, jsonb);
DROP FUNCTION loket_expire_holds(uuid, tstzrange, integer);
DROP FUNCTION loket_release_holds(uuid[], text, text);
DROP TABLE booking_holds;
CREATE OR REPLACE FUNCTION appointments_booked_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO appointment_events (appointment_id, kind, actor, detail)
    VALUES (NEW.id, 'booked', 'citizen',
            jsonb_build_object('staff', NEW.staff_id, 'starts_at', lower(NEW.period)));
    RETURN NULL;
END
$$;
ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking;
DROP INDEX appointments_active_phone_idx;
DROP INDEX appointments_active_nik_idx;
DROP INDEX appointments_erasable_idx;
ALTER TABLE appointments DROP COLUMN active;
ALTER TABLE appointments
    ADD COLUMN active boolean GENERATED ALWAYS AS (status IN ('booked', 'waiting', 'in_call')) STORED;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
    EXCLUDE USING gist (staff_id WITH =, period WITH &&) WHERE (active);
CREATE INDEX appointments_active_phone_idx ON appointments (citizen_phone) WHERE active;
CREATE INDEX appointments_active_nik_idx ON appointments (nik_hash)
    WHERE active AND nik_hash IS NOT NULL;
CREATE INDEX appointments_erasable_idx ON appointments (ends_at)
    WHERE erased_at IS NULL AND NOT active;
DROP INDEX appointments_holds_idx;
ALTER TABLE appointments DROP CONSTRAINT appointments_held_until;
ALTER TABLE appointments DROP COLUMN hold_expires_at;
ALTER TABLE appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE appointments ADD CONSTRAINT appointments_status_check
    CHECK (status IN ('booked', 'waiting', 'in_call', 'completed', 'no_show', 'cancelled'));
CREATE FUNCTION loket_book(
    p_max_active bigint, p_max_active_nik bigint, p_max_per_service_day bigint, p_day tstzrange,
    p_wait_for_clerk boolean,
    p_id uuid, p_code text, p_service uuid, p_staff uuid, p_period tstzrange,
    p_ends_at timestamptz, p_name text, p_phone text, p_email text, p_nik_cipher bytea,
    p_nik_last4 text, p_nik_masked text, p_nik_hash bytea, p_idempotency_key text,
    p_request_hash bytea, p_lang text, p_messages jsonb
) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    n bigint;
    created timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('phone:' || p_phone, 0));
    IF p_nik_hash IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('nik:' || encode(p_nik_hash, 'hex'), 0));
    END IF;
    SELECT count(*) INTO n FROM appointments WHERE citizen_phone = p_phone AND active;
    IF n >= p_max_active THEN
        RAISE EXCEPTION 'too many active bookings for one phone number'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_phone';
    END IF;
    IF p_nik_hash IS NOT NULL THEN
        SELECT count(*) INTO n FROM appointments WHERE nik_hash = p_nik_hash AND active;
        IF n >= p_max_active_nik THEN
            RAISE EXCEPTION 'too many active bookings for one NIK'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_nik';
        END IF;
    END IF;
    SELECT count(*) INTO n FROM appointments
     WHERE active AND service_id = p_service AND lower(period) <@ p_day
       AND (citizen_phone = p_phone OR (p_nik_hash IS NOT NULL AND nik_hash = p_nik_hash));
    IF n >= p_max_per_service_day THEN
        RAISE EXCEPTION 'this service is already booked that day by the same citizen'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_per_service_day';
    END IF;
    -- The clerk's lock is the one reschedule and reassign take (`loket_lock('staff:' || id)`).
    IF p_wait_for_clerk THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('staff:' || p_staff::text, 0));
    ELSIF NOT pg_try_advisory_xact_lock(hashtextextended('staff:' || p_staff::text, 0)) THEN
        RAISE EXCEPTION 'another booking for this clerk is in progress'
            USING ERRCODE = 'lock_not_available', CONSTRAINT = 'appointments_clerk_busy';
    END IF;
    -- The `booked` audit event is written by the insert trigger (migration ..._booking_lock).
    INSERT INTO appointments (id, code, service_id, staff_id, period, ends_at, citizen_name,
                              citizen_phone, citizen_email, nik_cipher, nik_last4, nik_masked,
                              nik_hash, idempotency_key, request_hash, lang)
    VALUES (p_id, p_code, p_service, p_staff, p_period, p_ends_at, p_name, p_phone, p_email,
            p_nik_cipher, p_nik_last4, p_nik_masked, p_nik_hash, p_idempotency_key,
            p_request_hash, p_lang)
    RETURNING created_at INTO created;
    PERFORM loket_outbox_apply('appointment', p_id, p_lang, '{}'::jsonb, '{}'::text[], p_messages);
    RETURN created;
END
$$;
