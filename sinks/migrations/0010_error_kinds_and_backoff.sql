-- leadsync 0010: what kind of failure each error-log line is, counters per kind, and the
-- scheduled pull's backoff (issue #13, points 4 and 5).
--
-- * "Total errors" (form_counters.errors) counts only leads that failed because of the
--   form's configuration (identity not mapped or missing, a value invalid for its field, a
--   mapping to a field that no longer exists). Connection, LinkedIn, unreadable-lead and
--   internal failures are logged too, with their kind, and counted apart, so a revoked token
--   does not look like a mapping mistake.
-- * The kind is derived from the error code in one place, leadsync_error_kind(): error_log.kind
--   is generated from it, so no writer can set it wrong. A code it does not know is
--   "internal" (a new code must be added here, in a new migration, to be counted otherwise).
-- * A failed scheduled run backs off: the form's next attempt waits 5 minutes, doubling with
--   each failure in a row up to the form's interval (sinks.sync_runs.backoff_delay); a run
--   that succeeds ends the backoff.

CREATE FUNCTION leadsync_error_kind(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- The form's configuration: what "Total errors" counts.
        WHEN code IN ('identity_not_mapped', 'identity_missing', 'invalid_value',
                      'field_missing', 'field_not_mappable') THEN 'configuration'
        -- The account's LinkedIn connection: missing, expired, revoked, not allowed to
        -- read the lead's owner, or about to end (connection.expiring, no form or lead).
        WHEN code IN ('connection_revoked', 'connection_expired', 'no_connection',
                      'owner_not_readable', 'connection.expiring') THEN 'connection'
        -- LinkedIn answered with an error, or no longer has the lead.
        WHEN code IN ('linkedin_error', 'lead_not_found') THEN 'linkedin'
        -- A lead or record leadsync cannot read (nor place against its form's questions).
        WHEN code IN ('unreadable_lead', 'undecodable_record', 'undecodable_notification',
                      'undecodable_error_event', 'invalid_notification',
                      'form_version_unknown') THEN 'unreadable'
        ELSE 'internal'
    END
$$;

ALTER TABLE error_log
    ADD COLUMN kind text NOT NULL GENERATED ALWAYS AS (leadsync_error_kind(code)) STORED;
CREATE INDEX error_log_kind_idx ON error_log (account_id, kind, occurred_at);

-- errors stays the configuration count; the other kinds beside it, reset with it.
ALTER TABLE form_counters
    ADD COLUMN connection_errors bigint NOT NULL DEFAULT 0,
    ADD COLUMN linkedin_errors bigint NOT NULL DEFAULT 0,
    ADD COLUMN unreadable_errors bigint NOT NULL DEFAULT 0,
    ADD COLUMN internal_errors bigint NOT NULL DEFAULT 0;

-- The counters recounted from the log since their last reset (the log holds one line per
-- lead and code per counter period, as the counters did). Row-level security is forced,
-- on the owner too: every account is taken in hand for this transaction.
SELECT set_config('leadsync.accounts',
                  coalesce((SELECT string_agg(id::text, ',') FROM accounts), ''), true);
UPDATE form_counters c SET
    errors = coalesce(k.configuration, 0),
    connection_errors = coalesce(k.connection, 0),
    linkedin_errors = coalesce(k.linkedin, 0),
    unreadable_errors = coalesce(k.unreadable, 0),
    internal_errors = coalesce(k.internal, 0)
FROM form_counters c2
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE e.kind = 'configuration') AS configuration,
           count(*) FILTER (WHERE e.kind = 'connection') AS connection,
           count(*) FILTER (WHERE e.kind = 'linkedin') AS linkedin,
           count(*) FILTER (WHERE e.kind = 'unreadable') AS unreadable,
           count(*) FILTER (WHERE e.kind = 'internal') AS internal
    FROM error_log e
    WHERE e.account_id = c2.account_id AND e.form_id = c2.form_id
      AND e.occurred_at >= c2.reset_at
) k ON true
WHERE c2.account_id = c.account_id AND c2.form_id = c.form_id;

-- The scheduled pull's backoff: failures in a row, when the last one ended and why, and
-- when the scheduler may try again.
ALTER TABLE forms
    ADD COLUMN sync_failures integer NOT NULL DEFAULT 0 CHECK (sync_failures >= 0),
    ADD COLUMN sync_failed_at timestamptz,
    ADD COLUMN sync_retry_at timestamptz,
    ADD COLUMN sync_last_error text;
