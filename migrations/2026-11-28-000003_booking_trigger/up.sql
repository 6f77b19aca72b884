-- A booking in one statement: the guard that `loket_booking_guard` ran as a separate call inside
-- an explicit transaction (BEGIN, guard, INSERT, COMMIT: four round trips) becomes a BEFORE
-- INSERT trigger, so a plain autocommit INSERT takes the locks, checks the phone's limit and
-- inserts in one round trip. The advisory locks are transaction-scoped: they are held until
-- the INSERT's implicit transaction commits, exactly as before.
--
-- The limit is per deployment configuration (LOKET_MAX_ACTIVE_BOOKINGS), so Loket's pool sets
-- it on every connection as the session setting `loket.max_active_bookings`. Connections that
-- do not set it (migrations, demo data, bulk seeding in benches) skip the guard: a bulk insert
-- of thousands of rows would otherwise hold thousands of advisory locks at once. The exclusion
-- constraint still refuses any double booking from them.
CREATE FUNCTION appointments_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    max_active bigint := nullif(current_setting('loket.max_active_bookings', true), '')::bigint;
    active bigint;
BEGIN
    IF max_active IS NULL OR NEW.status NOT IN ('booked', 'waiting', 'in_call') THEN
        RETURN NEW;
    END IF;
    -- Phone first, then clerk: one global order, so no lock cycle.
    PERFORM pg_advisory_xact_lock(hashtextextended('phone:' || NEW.citizen_phone, 0));
    -- A VOLATILE function's statements each take a fresh snapshot: a booking committed while
    -- we waited for the phone's lock is counted.
    SELECT count(*) INTO active FROM appointments
     WHERE citizen_phone = NEW.citizen_phone AND status IN ('booked', 'waiting', 'in_call');
    IF active >= max_active THEN
        -- No phone number in the message: error texts can reach logs.
        RAISE EXCEPTION 'too many active bookings for one phone number'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_phone';
    END IF;
    -- The clerk's lock, the one reschedule and reassign take (`loket_lock('staff:' || id)`),
    -- without waiting: when another booking holds it, that clerk is probably being taken, and
    -- the caller tries its next candidate at once instead of queueing behind that booking's
    -- commit. A caller that wants to wait takes the lock itself first (`loket_lock`) in a
    -- transaction; advisory locks are re-entrant within a session, so this then succeeds.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('staff:' || NEW.staff_id::text, 0)) THEN
        RAISE EXCEPTION 'another booking for this clerk is in progress'
            USING ERRCODE = 'lock_not_available', CONSTRAINT = 'appointments_clerk_busy';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_guard BEFORE INSERT ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_guard();

DROP FUNCTION loket_booking_guard(text, uuid);
