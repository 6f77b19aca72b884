-- Confirming a booking (issue 13 §3, DESIGN §9 "Confirming a booking"): against touts holding
-- slots with made-up phone numbers, a booking may first be `held` until the citizen types the
-- one-time code sent to its phone. A held row is active: it takes the clerk's time in the
-- exclusion constraint and counts toward the phone, NIK and per-service-day limits. A hold not
-- confirmed by `hold_expires_at` is cancelled (`loket_expire_holds`, run by every node's reaper
-- and by `loket_book` itself for the clerk and time it is about to take), which frees the slot.
--
-- `hold_expires_at` is set exactly while the row is `held` (a check says so), so the index of
-- live holds names that column and not `status`: the room's status changes stay HOT updates
-- (migration 2026-11-28-000004).

ALTER TABLE appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE appointments ADD CONSTRAINT appointments_status_check
    CHECK (status IN ('held', 'booked', 'waiting', 'in_call', 'completed', 'no_show', 'cancelled'));
ALTER TABLE appointments ADD COLUMN hold_expires_at timestamptz;
ALTER TABLE appointments ADD CONSTRAINT appointments_held_until
    CHECK ((status = 'held') = (hold_expires_at IS NOT NULL));
CREATE INDEX appointments_holds_idx ON appointments (hold_expires_at)
    WHERE hold_expires_at IS NOT NULL;

-- `active` gains `held`. A generated column's expression cannot change in place (before
-- Postgres 17), so it is dropped with what uses it — named here one by one, so that anything
-- else depending on it makes this migration fail rather than disappear — and added again.
ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking;
DROP INDEX appointments_active_phone_idx;
DROP INDEX appointments_active_nik_idx;
DROP INDEX appointments_erasable_idx;
ALTER TABLE appointments DROP COLUMN active;
ALTER TABLE appointments
    ADD COLUMN active boolean
        GENERATED ALWAYS AS (status IN ('held', 'booked', 'waiting', 'in_call')) STORED;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
    EXCLUDE USING gist (staff_id WITH =, period WITH &&) WHERE (active);
CREATE INDEX appointments_active_phone_idx ON appointments (citizen_phone) WHERE active;
CREATE INDEX appointments_active_nik_idx ON appointments (nik_hash)
    WHERE active AND nik_hash IS NOT NULL;
CREATE INDEX appointments_erasable_idx ON appointments (ends_at)
    WHERE erased_at IS NULL AND NOT active;

-- A hold's code: only its keyed hash (bound to the purpose and the appointment), when it stops
-- working, the wrong tries of the whole hold, how many codes were sent and when the last was,
-- and how the hold ended.
CREATE TABLE booking_holds (
    appointment_id  uuid PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    code_hash       bytea NOT NULL,
    code_expires_at timestamptz NOT NULL,
    tries           integer NOT NULL DEFAULT 0 CHECK (tries >= 0),
    sends           integer NOT NULL DEFAULT 1 CHECK (sends >= 1),
    last_sent_at    timestamptz NOT NULL DEFAULT now(),
    ended           text CHECK (ended IN ('confirmed', 'expired', 'too_many_tries', 'cancelled')),
    ended_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The first event of a held booking says `held`, not `booked` (that one comes on confirmation).
CREATE OR REPLACE FUNCTION appointments_booked_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO appointment_events (appointment_id, kind, actor, detail)
    VALUES (NEW.id, CASE WHEN NEW.status = 'held' THEN 'held' ELSE 'booked' END, 'citizen',
            jsonb_build_object('staff', NEW.staff_id, 'starts_at', lower(NEW.period)));
    RETURN NULL;
END
$$;

-- Ends holds: each still `held` becomes `cancelled` (freeing the clerk's time), with its audit
-- event, its hold marked with why, and its still-pending messages (the codes) cancelled.
-- Answers the appointments it ended and their clerks. The caller holds the rows' locks or
-- passes rows nobody else is changing.
CREATE FUNCTION loket_release_holds(p_ids uuid[], p_why text, p_actor text)
RETURNS TABLE (r_id uuid, r_staff uuid)
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    RETURN QUERY
    WITH gone AS (UPDATE appointments a
                     SET status = 'cancelled', hold_expires_at = NULL, updated_at = now()
                   WHERE a.id = ANY (p_ids) AND a.status = 'held'
               RETURNING a.id, a.staff_id),
         ev AS (INSERT INTO appointment_events (appointment_id, kind, actor, detail)
                SELECT g.id, 'hold_' || p_why, p_actor,
                       jsonb_build_object('from', 'held', 'to', 'cancelled')
                  FROM gone g),
         h AS (UPDATE booking_holds b SET ended = p_why, ended_at = now()
                 FROM gone g WHERE b.appointment_id = g.id AND b.ended IS NULL),
         m AS (UPDATE outbox o SET status = 'cancelled', status_at = now(), params = '{}'::jsonb
                 FROM gone g
                WHERE o.subject_kind = 'appointment' AND o.subject_id = g.id
                  AND o.status = 'pending')
    SELECT g.id, g.staff_id FROM gone g;
END
$$;

-- Ends the holds whose time is up: all of them (`p_staff` NULL: the reaper, up to `p_limit`), or
-- those of one clerk overlapping a period (the booking that wants that time). Rows another
-- transaction holds are skipped: every node's reaper may run this at once without doing the
-- same work twice, and a booking that skips one waits for it in the exclusion constraint.
CREATE FUNCTION loket_expire_holds(p_staff uuid, p_period tstzrange, p_limit integer)
RETURNS TABLE (r_id uuid, r_staff uuid)
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    due uuid[];
BEGIN
    SELECT array_agg(d.id) INTO due
      FROM (SELECT a.id FROM appointments a
             WHERE a.hold_expires_at <= now() AND a.status = 'held'
               AND (p_staff IS NULL OR (a.staff_id = p_staff AND a.period && p_period))
             ORDER BY a.hold_expires_at
             LIMIT p_limit
               FOR UPDATE SKIP LOCKED) d;
    IF due IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM loket_release_holds(due, 'expired', 'system');
END
$$;

-- Booking, as before (migration 2026-12-06-notify-001), plus the hold: with `p_hold_until` the
-- row is `held` until then, its code's hash is stored, and `p_params` (the code itself, for the
-- `otp` message) go with its messages. The limits count live holds like bookings and ignore
-- holds already past their time; the clerk's expired holds in the way are ended first.
DROP FUNCTION loket_book(bigint, bigint, bigint, tstzrange, boolean, uuid, text, uuid, uuid, tstzrange, timestamptz,
                         text, text, text, bytea, text, text, bytea, text, bytea, text, jsonb);
CREATE FUNCTION loket_book(
    p_max_active bigint, p_max_active_nik bigint, p_max_per_service_day bigint, p_day tstzrange,
    p_wait_for_clerk boolean,
    p_id uuid, p_code text, p_service uuid, p_staff uuid, p_period tstzrange,
    p_ends_at timestamptz, p_name text, p_phone text, p_email text, p_nik_cipher bytea,
    p_nik_last4 text, p_nik_masked text, p_nik_hash bytea, p_idempotency_key text,
    p_request_hash bytea, p_lang text, p_messages jsonb,
    p_hold_until timestamptz, p_code_hash bytea, p_code_expires timestamptz, p_params jsonb
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
    SELECT count(*) INTO n FROM appointments
     WHERE citizen_phone = p_phone AND active
       AND (hold_expires_at IS NULL OR hold_expires_at > now());
    IF n >= p_max_active THEN
        RAISE EXCEPTION 'too many active bookings for one phone number'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_phone';
    END IF;
    IF p_nik_hash IS NOT NULL THEN
        SELECT count(*) INTO n FROM appointments
         WHERE nik_hash = p_nik_hash AND active
           AND (hold_expires_at IS NULL OR hold_expires_at > now());
        IF n >= p_max_active_nik THEN
            RAISE EXCEPTION 'too many active bookings for one NIK'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_active_per_nik';
        END IF;
    END IF;
    SELECT count(*) INTO n FROM appointments
     WHERE active AND service_id = p_service AND lower(period) <@ p_day
       AND (hold_expires_at IS NULL OR hold_expires_at > now())
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
    -- The free times already show an expired hold as free; end it before it refuses the insert.
    PERFORM 1 FROM loket_expire_holds(p_staff, p_period, 100);
    -- The first audit event is written by the insert trigger (`held` or `booked`).
    INSERT INTO appointments (id, code, service_id, staff_id, period, ends_at, citizen_name,
                              citizen_phone, citizen_email, nik_cipher, nik_last4, nik_masked,
                              nik_hash, idempotency_key, request_hash, lang, status,
                              hold_expires_at)
    VALUES (p_id, p_code, p_service, p_staff, p_period, p_ends_at, p_name, p_phone, p_email,
            p_nik_cipher, p_nik_last4, p_nik_masked, p_nik_hash, p_idempotency_key,
            p_request_hash, p_lang, CASE WHEN p_hold_until IS NULL THEN 'booked' ELSE 'held' END,
            p_hold_until)
    RETURNING created_at INTO created;
    IF p_hold_until IS NOT NULL THEN
        INSERT INTO booking_holds (appointment_id, code_hash, code_expires_at)
        VALUES (p_id, p_code_hash, p_code_expires);
    END IF;
    PERFORM loket_outbox_apply('appointment', p_id, p_lang, coalesce(p_params, '{}'::jsonb),
                               '{}'::text[], p_messages);
    RETURN created;
END
$$;
