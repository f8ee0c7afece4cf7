-- leadsync 0013: dynamic audiences (issue #14 point 6).
--
-- * audiences: a named contact filter of an account (sinks.contacts_query.ContactFilter as
--   JSON). Only the definition is stored: the members are the contacts matching it when it
--   is read, so they change as leads arrive, and no membership table lags behind an import.
--   Names are unique per account, whatever their case ("Test leads" is "test leads").
-- * The campaign filter and its choices read form_submissions by campaign: an index on it,
--   with the campaign's name, so the choices come from the index alone.

CREATE TABLE audiences (
    account_id  bigint NOT NULL DEFAULT leadsync_account()
                REFERENCES accounts (id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL
                CHECK (name = btrim(name) AND name <> '' AND char_length(name) <= 200),
    filter      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(filter) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX audiences_account_name_key ON audiences (account_id, lower(name));

ALTER TABLE audiences ENABLE ROW LEVEL SECURITY;
ALTER TABLE audiences FORCE ROW LEVEL SECURITY;
-- As every account table (0008): the sub-select is evaluated once per statement.
CREATE POLICY rows_of_accounts_in_hand ON audiences
    USING (account_id = ANY ((SELECT leadsync_accounts())::bigint[]));
GRANT SELECT, INSERT, UPDATE, DELETE ON audiences TO leadsync_app;

CREATE INDEX form_submissions_campaign_idx ON form_submissions (account_id, campaign_urn)
    INCLUDE (campaign_name) WHERE campaign_urn IS NOT NULL;
