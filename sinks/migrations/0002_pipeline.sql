-- leadsync 0002: what the full import pipeline needs: skipped leads, erase tombstones,
-- idempotent error events and the pipeline alarm.

-- Leads that arrived while their form's Import switch was off: not errors, and not in the
-- ledger, so a later manual import still brings them in.
CREATE TABLE skipped_leads (
    lead_id      text PRIMARY KEY,
    form_id      bigint NOT NULL,
    origin       text NOT NULL,
    submitted_at timestamptz,
    skipped_at   timestamptz NOT NULL DEFAULT now(),
    reason       text NOT NULL DEFAULT 'import_disabled'
);
CREATE INDEX skipped_leads_form_idx ON skipped_leads (form_id, skipped_at);

-- A DELETED notification may arrive before (or without) the lead it deletes: the ledger
-- then holds a tombstone with no submission time, which keeps the lead from being imported.
ALTER TABLE imported_leads ALTER COLUMN submitted_at DROP NOT NULL;

-- Error events are delivered at least once; the id makes a replayed one count once.
ALTER TABLE error_log ADD COLUMN error_id uuid;
CREATE UNIQUE INDEX error_log_error_id_idx ON error_log (error_id);

-- The pipeline's alarm: raised when most recent records fail for reasons that are not a
-- form's configuration (undecodable records, internal errors); processing waits until an
-- operator clears it (`leadsync alarm clear`).
CREATE TABLE pipeline_alarms (
    id           bigserial PRIMARY KEY,
    raised_at    timestamptz NOT NULL DEFAULT now(),
    reason       text NOT NULL,
    cleared_at   timestamptz,
    cleared_by   text
);
CREATE UNIQUE INDEX pipeline_alarms_one_active_idx ON pipeline_alarms ((true)) WHERE cleared_at IS NULL;
