-- Antrian (issue 11): the same-day queue, remote and in person, in one line per clerk with the
-- bookings (docs/queue.md).
--
-- A number waits in `queue_tickets` without holding anyone's time. When a clerk calls it, the
-- ticket gets an `appointments` row of kind 'walk_in' for [now, now + duration + buffer): the
-- same table, the same exclusion constraint (`appointments_no_double_booking`, on the generated
-- `active` column) and the same per-clerk advisory lock as a booking, so a booking and a walk-in
-- can never overlap. Everything that reads appointments (free slots, the clerk's day, rooms,
-- the status functions, HOT updates) sees a walk-in as what it is: an appointment.

-- Each agency's numbers carry its own letter ("A-007"). Existing agencies get letters in the
-- order they were created; a new one takes the first free letter unless it names its own.
ALTER TABLE agencies ADD COLUMN queue_prefix TEXT UNIQUE CHECK (queue_prefix ~ '^[A-Z]{1,2}$');

CREATE FUNCTION loket_free_queue_prefix() RETURNS text
    LANGUAGE sql VOLATILE
    AS $$
    WITH letters AS (SELECT chr(64 + n) AS l, n FROM generate_series(1, 26) AS n),
         candidates AS (SELECT l AS p, n AS ord FROM letters
                        UNION ALL
                        SELECT a.l || b.l, 100 + a.n * 26 + b.n FROM letters a CROSS JOIN letters b)
    SELECT p FROM candidates
     WHERE p NOT IN (SELECT queue_prefix FROM agencies WHERE queue_prefix IS NOT NULL)
     ORDER BY ord LIMIT 1
$$;

CREATE FUNCTION agencies_queue_prefix() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.queue_prefix IS NULL THEN
        NEW.queue_prefix := loket_free_queue_prefix();
    END IF;
    RETURN NEW;
END
$$;

DO $$
DECLARE
    a record;
BEGIN
    FOR a IN SELECT id FROM agencies ORDER BY created_at, slug LOOP
        UPDATE agencies SET queue_prefix = loket_free_queue_prefix() WHERE id = a.id;
    END LOOP;
END
$$;
ALTER TABLE agencies ALTER COLUMN queue_prefix SET NOT NULL;
CREATE TRIGGER agencies_queue_prefix BEFORE INSERT ON agencies
    FOR EACH ROW EXECUTE FUNCTION agencies_queue_prefix();

-- A service may cap how many numbers it gives out in one day (Kuota harian); NULL = no cap of
-- its own (the deployment's LOKET_QUEUE_MAX_WAITING still bounds the line).
ALTER TABLE services ADD COLUMN queue_daily_cap INTEGER CHECK (queue_daily_cap BETWEEN 1 AND 10000);

-- Walk-ins live beside bookings. `kind` never changes after the insert, so it costs the HOT
-- status updates nothing. A walk-in taken at the kiosk may have no phone number.
ALTER TABLE appointments
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'booking' CHECK (kind IN ('booking', 'walk_in'));
ALTER TABLE appointments ALTER COLUMN citizen_phone DROP NOT NULL;
ALTER TABLE appointments ADD CONSTRAINT appointments_phone_unless_walk_in
    CHECK (citizen_phone IS NOT NULL OR kind = 'walk_in');

-- The insert trigger's `booked` event (migration ..._booking_lock) is a booking's: a walk-in's
-- first event is written by the call itself (`called`, by the clerk).
DROP TRIGGER appointments_booked_event ON appointments;
CREATE TRIGGER appointments_booked_event AFTER INSERT ON appointments
    FOR EACH ROW WHEN (NEW.kind = 'booking') EXECUTE FUNCTION appointments_booked_event();

-- Numbers per agency and local day: the row is the day's counter, and holding its lock while a
-- number is taken also makes the per-service daily cap exact.
CREATE TABLE queue_counters (
    agency_id UUID NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    day       DATE NOT NULL,
    last_seq  INTEGER NOT NULL CHECK (last_seq BETWEEN 0 AND 9999),
    PRIMARY KEY (agency_id, day)
);

-- One number. `state` is what the queue itself decides (waiting, called, serving in person,
-- skipped, cancelled); once called, the appointment's status says the rest (in the room, in
-- the call, completed, no-show) — src/domain/queue.rs `public_state`.
CREATE TABLE queue_tickets (
    id               UUID PRIMARY KEY,
    agency_id        UUID NOT NULL REFERENCES agencies (id),
    service_id       UUID NOT NULL REFERENCES services (id),
    day              DATE NOT NULL,
    seq              INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 9999),
    mode             TEXT NOT NULL CHECK (mode IN ('remote', 'in_person')),
    state            TEXT NOT NULL DEFAULT 'waiting'
                     CHECK (state IN ('waiting', 'called', 'serving', 'skipped', 'cancelled')),
    priority_group   TEXT CHECK (priority_group IN ('lansia', 'disabilitas', 'ibu_hamil', 'ibu_dengan_anak')),
    citizen_name     TEXT NOT NULL CHECK (length(citizen_name) BETWEEN 1 AND 120),
    citizen_phone    TEXT CHECK (citizen_phone ~ '^\+62[0-9]{8,13}$'),
    appointment_id   UUID UNIQUE REFERENCES appointments (id),
    staff_id         UUID REFERENCES staff (id),
    counter          TEXT CHECK (length(counter) BETWEEN 1 AND 16),
    -- 1 when first called, +1 per recall.
    calls            SMALLINT NOT NULL DEFAULT 0 CHECK (calls BETWEEN 0 AND 3),
    taken_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    called_at        TIMESTAMPTZ,
    last_called_at   TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    -- `queue_near` is sent once: the first refresh that sees position <= 3 sets this.
    near_notified_at TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (agency_id, day, seq),
    CHECK (mode = 'in_person' OR citizen_phone IS NOT NULL),
    -- Called means a clerk's time is held: every ticket past `waiting` (but one cancelled
    -- while it waited) names its appointment, clerk and first call.
    CHECK (state IN ('waiting', 'cancelled')
           OR (appointment_id IS NOT NULL AND staff_id IS NOT NULL AND called_at IS NOT NULL))
);
-- The lines themselves (the fair order reads these), the phone's open tickets (anti-hoarding),
-- and a day's numbers per agency (board, reports, supervisors).
CREATE INDEX queue_tickets_waiting_idx ON queue_tickets (agency_id, service_id, taken_at)
    WHERE state = 'waiting';
CREATE INDEX queue_tickets_phone_idx ON queue_tickets (citizen_phone) WHERE state = 'waiting';
CREATE INDEX queue_tickets_day_idx ON queue_tickets (agency_id, day);
-- A ticket changes state a few times in its life.
ALTER TABLE queue_tickets SET (fillfactor = 70);
