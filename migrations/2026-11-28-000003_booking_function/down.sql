DROP FUNCTION IF EXISTS loket_book(bigint, boolean, uuid, text, uuid, uuid, tstzrange, timestamptz, text, text, text, bytea, text, text, bytea, text, bytea);

-- As 2026-11-28-000002_booking_lock created it.
CREATE FUNCTION loket_booking_guard(phone text, clerk uuid) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    active bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('phone:' || phone, 0));
    SELECT count(*) INTO active FROM appointments
     WHERE citizen_phone = phone AND status IN ('booked', 'waiting', 'in_call');
    PERFORM pg_advisory_xact_lock(hashtextextended('staff:' || clerk::text, 0));
    RETURN active;
END
$$;

