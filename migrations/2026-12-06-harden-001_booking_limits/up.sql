-- Touts (calo) held many slots with made-up phone numbers and one NIK: the per-phone limit alone
-- did not stop them. The booking function now also limits
-- - the active bookings of one NIK (its keyed hash, `nik_hash`), to `p_max_active_nik`;
-- - bookings of one service on one local day, per phone and per NIK (`p_day` is that day's
--   bounds in the site's zone, computed by the caller), to `p_max_per_service_day`.
-- Locks in one order: the phone's, the NIK's, then the clerk's — no cycle. Error texts carry no
-- phone number or NIK (they can reach logs); the constraint names tell the caller which limit.
CREATE INDEX appointments_active_nik_idx ON appointments (nik_hash)
    WHERE active AND nik_hash IS NOT NULL;

DROP FUNCTION loket_book(bigint, boolean, uuid, text, uuid, uuid, tstzrange, timestamptz, text, text, text, bytea, text, text, bytea, text, bytea);

CREATE FUNCTION loket_book(
    p_max_active bigint, p_max_active_nik bigint, p_max_per_service_day bigint, p_day tstzrange,
    p_wait_for_clerk boolean,
    p_id uuid, p_code text, p_service uuid, p_staff uuid, p_period tstzrange,
    p_ends_at timestamptz, p_name text, p_phone text, p_email text, p_nik_cipher bytea,
    p_nik_last4 text, p_nik_masked text, p_nik_hash bytea, p_idempotency_key text,
    p_request_hash bytea
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
                              nik_hash, idempotency_key, request_hash)
    VALUES (p_id, p_code, p_service, p_staff, p_period, p_ends_at, p_name, p_phone, p_email,
            p_nik_cipher, p_nik_last4, p_nik_masked, p_nik_hash, p_idempotency_key,
            p_request_hash)
    RETURNING created_at INTO created;
    RETURN created;
END
$$;

-- Room tickets: an unexpired, unredeemed ticket of the same person for the same room is handed
-- out again instead of a new row (`db::tickets::reusable`). Not on `used_at`: marking a ticket
-- used stays a HOT update (migration 2026-11-28-000004).
CREATE INDEX room_tickets_appointment_idx ON room_tickets (appointment_id);
