-- leadsync 0003: LinkedIn connections (tokens encrypted at rest), ad accounts, sync runs,
-- and the form bookkeeping the status indicator reads.

CREATE TABLE linkedin_connections (
    id                  bigserial PRIMARY KEY,
    member_urn          text UNIQUE,
    member_name         text,
    -- Fernet tokens (AES-128-CBC + HMAC) under LEADSYNC_TOKEN_KEY; never stored in clear.
    access_token        bytea NOT NULL,
    access_expires_at   timestamptz NOT NULL,
    refresh_token       bytea,
    refresh_expires_at  timestamptz,
    scope               text NOT NULL DEFAULT '',
    -- active, or why the member must reconnect: expired, revoked.
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'revoked')),
    status_reason       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ad_accounts (
    urn               text PRIMARY KEY,                 -- urn:li:sponsoredAccount:<id>
    connection_id     bigint NOT NULL REFERENCES linkedin_connections (id) ON DELETE CASCADE,
    name              text,
    role              text,
    organization_urn  text,                             -- the account's "reference"
    test              boolean NOT NULL DEFAULT false,
    status            text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE forms
    ADD COLUMN connection_id bigint REFERENCES linkedin_connections (id) ON DELETE SET NULL,
    ADD COLUMN lead_type text;

-- One pull of one form: scheduled or manual, with the manual-import options.
CREATE TABLE sync_runs (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    form_id            bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    trigger            text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    reimport_existing  boolean NOT NULL DEFAULT false,
    restart_workflows  boolean NOT NULL DEFAULT false,
    all_submissions    boolean NOT NULL DEFAULT false,
    window_start       timestamptz,
    window_end         timestamptz,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    error              text,
    pages              integer NOT NULL DEFAULT 0,
    leads_total        integer,                         -- paging.total, when LinkedIn says
    leads_published    integer NOT NULL DEFAULT 0,
    requested_by       text,
    requested_at       timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    CHECK (NOT restart_workflows OR reimport_existing)
);
CREATE INDEX sync_runs_form_idx ON sync_runs (form_id, requested_at DESC);
CREATE UNIQUE INDEX sync_runs_one_active_idx ON sync_runs (form_id)
    WHERE status IN ('queued', 'running');

-- What a run brought in is read back from the ledger, the outbox and the error log.
CREATE INDEX imported_leads_run_idx ON imported_leads (sync_run_id) WHERE sync_run_id IS NOT NULL;
CREATE INDEX error_log_run_idx ON error_log (sync_run_id) WHERE sync_run_id IS NOT NULL;
CREATE INDEX outbox_run_idx ON outbox ((payload -> 'data' ->> 'sync_run_id'))
    WHERE payload -> 'data' ->> 'sync_run_id' IS NOT NULL;

-- The status indicator's "no contact imported for longer than a threshold" reads this; the
-- counters are bumped in the import transaction, so the date is exactly as durable.
CREATE FUNCTION forms_touch_last_imported() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.imported > OLD.imported OR NEW.updated > OLD.updated THEN
        UPDATE forms SET last_imported_at = now() WHERE id = NEW.form_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER form_counters_last_imported AFTER UPDATE ON form_counters
    FOR EACH ROW EXECUTE FUNCTION forms_touch_last_imported();
