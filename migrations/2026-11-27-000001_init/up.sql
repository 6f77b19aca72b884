-- Loket's first schema: catalogue, staff and their hours, closures, appointments with the
-- database-enforced guarantee that no clerk is ever double-booked, the audit trail and surveys.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE loket_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agencies (
    id         UUID PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_en    TEXT NOT NULL CHECK (length(name_en) BETWEEN 1 AND 200),
    kind       TEXT NOT NULL CHECK (kind IN ('city', 'province', 'central', 'enterprise')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE services (
    id               UUID PRIMARY KEY,
    agency_id        UUID NOT NULL REFERENCES agencies (id),
    slug             TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    name_en          TEXT NOT NULL CHECK (length(name_en) BETWEEN 1 AND 300),
    aliases          TEXT[] NOT NULL DEFAULT '{}',
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 240),
    buffer_minutes   INTEGER NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 120),
    requirements     TEXT[] NOT NULL DEFAULT '{}',
    needs_nik        BOOLEAN NOT NULL DEFAULT FALSE,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX services_agency_idx ON services (agency_id);

CREATE TABLE staff (
    id             UUID PRIMARY KEY,
    agency_id      UUID REFERENCES agencies (id),
    email          TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'admin')),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    calendar_key   TEXT NOT NULL UNIQUE,
    -- Bumped on logout-everywhere and password change: tokens carry the epoch they were minted in.
    session_epoch  INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Only an admin belongs to the whole mall; clerks and supervisors belong to one agency.
    CHECK (role = 'admin' OR agency_id IS NOT NULL)
);

CREATE TABLE staff_services (
    staff_id   UUID NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    service_id UUID NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, service_id)
);
CREATE INDEX staff_services_service_idx ON staff_services (service_id);

-- Wall-clock hours in the site's zone; ISO weekday 1 = Monday .. 7 = Sunday. Breaks are gaps.
CREATE TABLE weekly_hours (
    staff_id UUID NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    weekday  SMALLINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts   TIME NOT NULL,
    ends     TIME NOT NULL,
    CHECK (starts < ends),
    PRIMARY KEY (staff_id, weekday, starts),
    EXCLUDE USING gist (staff_id WITH =, weekday WITH =, tsrange('2000-01-01'::date + starts, '2000-01-01'::date + ends) WITH &&)
);

-- staff_id NULL: the whole mall is closed (national holiday, cuti bersama).
CREATE TABLE closures (
    id         UUID PRIMARY KEY,
    staff_id   UUID REFERENCES staff (id) ON DELETE CASCADE,
    period     TSTZRANGE NOT NULL CHECK (NOT isempty(period) AND NOT lower_inf(period) AND NOT upper_inf(period)),
    reason     TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX closures_period_idx ON closures USING gist (staff_id, period);

-- period is the clerk's blocked time: the consultation plus the service's buffer, [start, end).
-- ends_at is the end of the consultation itself, shown to people.
CREATE TABLE appointments (
    id              UUID PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{8}$'),
    service_id      UUID NOT NULL REFERENCES services (id),
    staff_id        UUID NOT NULL REFERENCES staff (id),
    period          TSTZRANGE NOT NULL CHECK (NOT isempty(period) AND NOT lower_inf(period) AND NOT upper_inf(period)),
    ends_at         TIMESTAMPTZ NOT NULL,
    status          TEXT NOT NULL DEFAULT 'booked'
                    CHECK (status IN ('booked', 'waiting', 'in_call', 'completed', 'no_show', 'cancelled')),
    citizen_name    TEXT NOT NULL CHECK (length(citizen_name) BETWEEN 1 AND 120),
    citizen_phone   TEXT NOT NULL CHECK (citizen_phone ~ '^\+62[0-9]{8,13}$'),
    citizen_email   TEXT,
    nik_cipher      BYTEA,
    nik_last4       TEXT CHECK (nik_last4 ~ '^[0-9]{4}$'),
    nik_masked      TEXT,
    nik_hash        BYTEA,
    notes           TEXT,
    idempotency_key TEXT UNIQUE,
    request_hash    BYTEA,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (ends_at > lower(period) AND ends_at <= upper(period)),
    CHECK ((nik_cipher IS NULL) = (nik_last4 IS NULL)),
    CONSTRAINT appointments_no_double_booking
        EXCLUDE USING gist (staff_id WITH =, period WITH &&)
        WHERE (status IN ('booked', 'waiting', 'in_call'))
);
CREATE INDEX appointments_staff_period_idx ON appointments USING gist (staff_id, period);
CREATE INDEX appointments_active_phone_idx ON appointments (citizen_phone)
    WHERE status IN ('booked', 'waiting', 'in_call');
CREATE INDEX appointments_service_idx ON appointments (service_id);

CREATE TABLE appointment_events (
    id             BIGSERIAL PRIMARY KEY,
    appointment_id UUID NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    detail         JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX appointment_events_appointment_idx ON appointment_events (appointment_id, at);

-- The audit trail is append-only: refuse updates and deletes at the database.
CREATE FUNCTION appointment_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'appointment_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER appointment_events_no_update BEFORE UPDATE ON appointment_events
    FOR EACH ROW EXECUTE FUNCTION appointment_events_append_only();

CREATE TABLE surveys (
    appointment_id UUID PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    answers        SMALLINT[] NOT NULL CHECK (array_length(answers, 1) = 9 AND 1 <= ALL (answers) AND 4 >= ALL (answers)),
    comment        TEXT CHECK (length(comment) <= 2000),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Single-use, short-lived tickets for the signalling socket. Kept in Postgres so any node can
-- redeem one (DESIGN §8) and so that "used" is decided atomically.
CREATE TABLE room_tickets (
    id             TEXT PRIMARY KEY,
    appointment_id UUID NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    role           TEXT NOT NULL CHECK (role IN ('citizen', 'clerk', 'supervisor')),
    staff_id       UUID REFERENCES staff (id) ON DELETE CASCADE,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX room_tickets_expires_idx ON room_tickets (expires_at);
