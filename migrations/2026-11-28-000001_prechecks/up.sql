-- The last pre-call check of each appointment (issue 5). One row per appointment: a new check
-- replaces the old one, since the clerk only needs to know how the citizen's line looks now.
-- `result` is the API's result object (verdict, reasons, measurements); it holds candidate types
-- and numbers only, never an address.
CREATE TABLE prechecks (
    appointment_id uuid PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    check_id uuid NOT NULL UNIQUE,
    verdict text NOT NULL CHECK (verdict IN ('good', 'audio_only', 'will_not_connect')),
    result jsonb NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
