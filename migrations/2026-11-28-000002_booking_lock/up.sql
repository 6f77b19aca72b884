-- The booking path's locks and audit as database functions, so a booking costs fewer round
-- trips and the query builder can prepare the calls once per connection (raw SQL is planned
-- again on every call).

-- A transaction-scoped advisory lock on a text key (reschedule and reassign take the clerk's).
CREATE FUNCTION loket_lock(key text) RETURNS boolean
    LANGUAGE sql VOLATILE
    AS $$ SELECT true FROM (SELECT pg_advisory_xact_lock(hashtextextended(key, 0))) AS locked $$;

-- Booking's guard, in one call: the phone's lock, then the phone's active bookings counted with
-- a fresh snapshot (a VOLATILE function's statements each take one, so a booking committed while
-- we waited for the lock is counted), then the clerk's lock. Phone first, clerk second, always:
-- one order, so no lock cycle.
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

-- Every new appointment gets its `booked` audit event in the same statement.
CREATE FUNCTION appointments_booked_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO appointment_events (appointment_id, kind, actor, detail)
    VALUES (NEW.id, 'booked', 'citizen',
            jsonb_build_object('staff', NEW.staff_id, 'starts_at', lower(NEW.period)));
    RETURN NULL;
END
$$;
CREATE TRIGGER appointments_booked_event AFTER INSERT ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_booked_event();
