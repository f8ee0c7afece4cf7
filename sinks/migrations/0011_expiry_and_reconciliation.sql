-- leadsync 0011: a LinkedIn connection's end is announced before it comes (issue #13 point 6),
-- and each form's leads are reconciled between push and pull (point 7).
--
-- * connection_expiry_warnings: which of the warnings (30, 7 and 1 days before the refresh
--   token ends) were given for a connection, each once. Kept per expiry: a member who
--   connects again gets a new refresh token, a new expiry and, a year later, new warnings.
-- * lead_sightings: every lead an account saw, how many times by pull and by push, on the
--   day it was submitted (UTC). Pulls read what LinkedIn holds, pushes are what LinkedIn
--   sent: a lead pulled and never pushed is one the push lost, a lead pushed twice a
--   duplicate leadsync absorbed. No foreign key to forms: a push is counted before its
--   form is known to the account (the import registers it).

CREATE TABLE connection_expiry_warnings (
    account_id      bigint NOT NULL DEFAULT leadsync_account()
                    REFERENCES accounts (id) ON DELETE CASCADE,
    connection_id   bigint NOT NULL,
    expires_at      timestamptz NOT NULL,
    threshold_days  integer NOT NULL CHECK (threshold_days > 0),
    warned_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, connection_id, expires_at, threshold_days),
    FOREIGN KEY (account_id, connection_id)
        REFERENCES linkedin_connections (account_id, id) ON DELETE CASCADE
);

CREATE TABLE lead_sightings (
    account_id     bigint NOT NULL DEFAULT leadsync_account()
                   REFERENCES accounts (id) ON DELETE CASCADE,
    lead_id        text NOT NULL,
    form_id        bigint NOT NULL,
    day            date NOT NULL,
    -- The lead's submission day, or (false) its notification's until the lead is read.
    day_exact      boolean NOT NULL DEFAULT true,
    pulls          integer NOT NULL DEFAULT 0 CHECK (pulls >= 0),
    pushes         integer NOT NULL DEFAULT 0 CHECK (pushes >= 0),
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, lead_id)
);
CREATE INDEX lead_sightings_form_day_idx ON lead_sightings (account_id, form_id, day);

DO $$
DECLARE
    account_table text;
BEGIN
    FOREACH account_table IN ARRAY ARRAY['connection_expiry_warnings', 'lead_sightings'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', account_table);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', account_table);
        EXECUTE format('CREATE POLICY rows_of_accounts_in_hand ON %I'
                       ' USING (account_id = ANY ((SELECT leadsync_accounts())::bigint[]))',
                       account_table);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO leadsync_app',
                       account_table);
    END LOOP;
END
$$;
