-- Reaching the citizen outside the browser (issue 10, DESIGN §9): the outbox, every attempt
-- to send, link-recovery codes, the language a booking was made in, and the flag for a booking
-- that leave or a holiday left without a clerk.
--
-- A message is a row written in the same transaction as the change that causes it (through
-- `loket_outbox_apply`, which `loket_book` and the Rust use-cases call). Unique per (subject,
-- kind, channel, round), so planning the same message twice stores it once; workers claim due
-- rows with SKIP LOCKED under a lease; statuses only move forward (a trigger refuses the rest).

ALTER TABLE appointments
    ADD COLUMN lang text NOT NULL DEFAULT 'id' CHECK (lang IN ('id', 'en')),
    -- Set when leave or a holiday took the clerk's time and no other clerk could take it; the
    -- citizen is offered new times, a reschedule clears it. The booking stays `booked` (and
    -- active) meanwhile, so nothing else about the exclusion constraint changes.
    ADD COLUMN needs_new_time_since timestamptz;
CREATE INDEX appointments_needs_new_time_idx ON appointments (needs_new_time_since)
    WHERE needs_new_time_since IS NOT NULL;

CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    -- What the message is about: an appointment, or (issue 11) a queue ticket.
    subject_kind  text NOT NULL CHECK (subject_kind IN ('appointment', 'queue_ticket')),
    subject_id    uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('booked', 'rescheduled', 'cancelled', 'reassigned',
                      'needs_new_time', 'reminder_day_before', 'reminder_soon', 'room_open',
                      'completed', 'otp', 'queue_near', 'queue_called')),
    channel       text NOT NULL CHECK (channel IN ('whatsapp', 'sms', 'email')),
    -- Tells apart the same kind sent again for a later change of the same subject.
    round         integer NOT NULL DEFAULT 0,
    -- E.164 phone (+62…) or email address.
    address       text NOT NULL CHECK (length(address) BETWEEN 3 AND 254),
    lang          text NOT NULL DEFAULT 'id' CHECK (lang IN ('id', 'en')),
    -- Values a subject without its own table row needs (an OTP, a queue number). Emptied once
    -- the message is final (kept while `sent`: an SMS fallback may still need them).
    params        jsonb NOT NULL DEFAULT '{}'::jsonb,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled')),
    status_at     timestamptz NOT NULL DEFAULT now(),
    due_at        timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    -- A worker's lease while it sends; a lease found expired means its worker died mid-send.
    locked_until  timestamptz,
    provider_id   text,
    -- The text as sent (or as it would have been, for a skipped channel), with the links'
    -- tokens hidden: what the admin's Outbox page shows.
    preview       text,
    last_error    text CHECK (length(last_error) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_one_message UNIQUE (subject_kind, subject_id, kind, channel, round)
);
CREATE INDEX outbox_due_idx ON outbox (due_at) WHERE status = 'pending';
CREATE INDEX outbox_subject_idx ON outbox (subject_id, created_at);
CREATE UNIQUE INDEX outbox_provider_idx ON outbox (channel, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX outbox_created_idx ON outbox (created_at);
ALTER TABLE outbox SET (fillfactor = 70);

-- Forward only (src/domain/notify.rs `Delivery::can_become` is the same table).
CREATE FUNCTION outbox_forward_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled'))
        OR (OLD.status = 'sent' AND NEW.status IN ('delivered', 'read', 'failed'))
        OR (OLD.status = 'delivered' AND NEW.status = 'read')) THEN
        RAISE EXCEPTION 'an outbox message cannot go from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_forward_only';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_forward_only BEFORE UPDATE OF status ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_forward_only();

-- Every attempt to send, kept for the record (and the report's delivery figures).
CREATE TABLE outbox_attempts (
    id          bigserial PRIMARY KEY,
    outbox_id   uuid NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    -- accepted, transient, permanent, not_on_whatsapp, not_configured, interrupted, moot
    outcome     text NOT NULL,
    detail      text CHECK (length(detail) <= 500),
    took_ms     integer
);
CREATE INDEX outbox_attempts_outbox_idx ON outbox_attempts (outbox_id, at);

-- One-time codes for link recovery (DESIGN §9): hashed, 10 minutes, 5 tries.
CREATE TABLE recovery_codes (
    id             uuid PRIMARY KEY,
    appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    code_hash      bytea NOT NULL,
    expires_at     timestamptz NOT NULL,
    tries          integer NOT NULL DEFAULT 0,
    used_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recovery_codes_appointment_idx ON recovery_codes (appointment_id, created_at);

-- What a change does to a subject's outbox, in one statement: the still-pending messages of
-- `p_cancel` kinds become `cancelled`, then `p_messages` (a JSON array of {kind, channel,
-- round, address, due_at}) are added, each at most once. Wakes the workers (at commit) when
-- something is due now.
CREATE FUNCTION loket_outbox_apply(p_subject_kind text, p_subject uuid, p_lang text,
                                   p_params jsonb, p_cancel text[], p_messages jsonb)
RETURNS integer
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    added integer;
BEGIN
    IF cardinality(p_cancel) > 0 THEN
        UPDATE outbox SET status = 'cancelled', status_at = now(), params = '{}'::jsonb
         WHERE subject_id = p_subject AND subject_kind = p_subject_kind
           AND status = 'pending' AND kind = ANY (p_cancel);
    END IF;
    WITH ins AS (
        INSERT INTO outbox (id, subject_kind, subject_id, kind, channel, round, address, lang,
                            params, due_at)
        SELECT gen_random_uuid(), p_subject_kind, p_subject, m.kind, m.channel, m.round,
               m.address, p_lang, p_params, m.due_at
          FROM jsonb_to_recordset(p_messages)
               AS m(kind text, channel text, round integer, address text, due_at timestamptz)
        ON CONFLICT ON CONSTRAINT outbox_one_message DO NOTHING
        RETURNING due_at)
    SELECT count(*) FILTER (WHERE due_at <= now() + interval '1 second') INTO added FROM ins;
    IF added > 0 THEN
        PERFORM pg_notify('loket_outbox', '');
    END IF;
    RETURN added;
END
$$;

-- Claims up to p_limit due messages for p_lease: rows other workers hold are skipped, and a
-- row whose lease ran out (its worker died mid-send) is claimed again with `interrupted`.
CREATE FUNCTION loket_outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (r_id uuid, r_interrupted boolean)
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    RETURN QUERY
    WITH c AS (SELECT o.id, o.locked_until AS was_locked FROM outbox o
                WHERE o.status = 'pending' AND o.due_at <= now()
                  AND (o.locked_until IS NULL OR o.locked_until < now())
                ORDER BY o.due_at
                LIMIT p_limit
                FOR UPDATE SKIP LOCKED)
    UPDATE outbox o SET locked_until = now() + make_interval(secs => p_lease_ms / 1000.0),
                        attempts = o.attempts + 1
      FROM c WHERE o.id = c.id
    RETURNING o.id, c.was_locked IS NOT NULL;
END
$$;

-- The outcomes of many sends in one statement: each attempt is recorded, and each message
-- takes its new status (only if still pending: a status report or a cancel that came first
-- wins), its next due time for a retry, the provider's id and the preview; its lease ends.
CREATE FUNCTION loket_outbox_record(p_ids uuid[], p_statuses text[], p_due timestamptz[],
                                    p_provider text[], p_preview text[], p_outcome text[],
                                    p_detail text[], p_took integer[])
RETURNS integer
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO outbox_attempts (outbox_id, outcome, detail, took_ms)
    SELECT v.id, v.outcome, left(v.detail, 500), v.took
      FROM unnest(p_ids, p_outcome, p_detail, p_took) AS v(id, outcome, detail, took);
    WITH v AS (SELECT * FROM unnest(p_ids, p_statuses, p_due, p_provider, p_preview, p_detail)
                   AS v(id, status, due, provider, preview, detail)),
         u AS (UPDATE outbox o SET
                   status = CASE WHEN o.status = 'pending' THEN v.status ELSE o.status END,
                   status_at = CASE WHEN o.status = 'pending' AND v.status <> 'pending'
                                    THEN now() ELSE o.status_at END,
                   due_at = coalesce(v.due, o.due_at),
                   provider_id = coalesce(o.provider_id, v.provider),
                   preview = coalesce(v.preview, o.preview),
                   last_error = CASE WHEN v.status = 'sent' THEN NULL ELSE left(v.detail, 500) END,
                   locked_until = NULL,
                   params = CASE WHEN v.status IN ('pending', 'sent') THEN o.params ELSE '{}'::jsonb END
                 FROM v WHERE o.id = v.id
               RETURNING 1)
    SELECT count(*) INTO n FROM u;
    RETURN n;
END
$$;

-- Booking, as before (migration 2026-12-06-harden-001: the phone, NIK and per-service-day limits),
-- plus the booking's language and its messages (`loket_outbox_apply`) in the same statement and
-- transaction.
DROP FUNCTION loket_book(bigint, bigint, bigint, tstzrange, boolean, uuid, text, uuid, uuid, tstzrange, timestamptz,
                         text, text, text, bytea, text, text, bytea, text, bytea);
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
