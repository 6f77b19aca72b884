-- Back to the booking function of 2026-11-28-000004 (per-phone limit only).
DROP FUNCTION loket_book(bigint, bigint, bigint, tstzrange, boolean, uuid, text, uuid, uuid, tstzrange,
    timestamptz, text, text, text, bytea, text, text, bytea, text, bytea);
DROP INDEX appointments_active_nik_idx;
DROP INDEX room_tickets_appointment_idx;

CREATE FUNCTION loket_book(
    p_max_active bigint, p_wait_for_clerk boolean,
    p_id uuid, p_code text, p_service uuid, p_staff uuid, p_period tstzrange,
    p_ends_at timestamptz, p_name text, p_phone text, p_email text, p_nik_cipher bytea,
    p_nik_last4 text, p_nik_masked text, p_nik_hash bytea, p_idempotency_key text,
    p_request_hash bytea
) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    n_active bigint;
    created timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('phone:' || p_phone, 0));
    SELECT count(*) INTO n_active FROM appointments
     WHERE citizen_phone = p_phone AND active;
    IF n_active >= p_max_active THEN
        -- No phone number in the message: error texts can reach logs.
        RAISE EXCEPTION 'too many active bookings for one phone number'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_phone';
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
                              nik_hash, idempotency_key, request_hash)
    VALUES (p_id, p_code, p_service, p_staff, p_period, p_ends_at, p_name, p_phone, p_email,
            p_nik_cipher, p_nik_last4, p_nik_masked, p_nik_hash, p_idempotency_key,
            p_request_hash)
    RETURNING created_at INTO created;
    RETURN created;
END
$$;
