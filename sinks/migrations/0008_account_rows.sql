-- leadsync 0008: every row of account data belongs to one account, and PostgreSQL keeps the
-- accounts apart (issue #12, architecture.md §7).
--
-- * Every account table gains account_id; its primary and unique keys start with it (the
--   tables can be distributed by account, Citus's way, the day one server no longer
--   suffices), and the keys between them carry it (a submission's contact is of its account).
-- * Row-level security, enabled and forced on each of them: a row is visible and writable
--   only while its account is "in hand", i.e. listed in the transaction's setting
--   leadsync.accounts (sinks.database.Database.account sets it with SET LOCAL). A
--   transaction with no account in hand sees no row of any account.
-- * The processes work as the role leadsync_app (SET ROLE on every pooled connection): it
--   owns nothing, is no superuser and has no BYPASSRLS, so it cannot step around the
--   policies. Migrations run as the owner.
-- * A row inserted without its account takes the one in hand (leadsync_account()), and
--   fails when there is not exactly one.
-- * The data of the single-account era moves into an account named "default".
-- LinkedIn's forms are configured per account (Import switch, periodic sync, watermark),
-- so forms and their versions are account rows too: two accounts connected to one ad
-- account each hold the form with its own settings.

CREATE FUNCTION leadsync_accounts() RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        string_to_array(nullif(current_setting('leadsync.accounts', true), ''), ',')::bigint[],
        '{}'::bigint[])
$$;

CREATE FUNCTION leadsync_account() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    in_hand bigint[] := leadsync_accounts();
BEGIN
    IF cardinality(in_hand) <> 1 THEN
        RAISE EXCEPTION 'leadsync: a row of account data needs its account (% in hand)',
            cardinality(in_hand) USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN in_hand[1];
END
$$;

-- The keys between account tables are rebuilt with the account below.
ALTER TABLE contact_fields DROP CONSTRAINT contact_fields_pkey CASCADE;
ALTER TABLE contacts DROP CONSTRAINT contacts_pkey CASCADE;
ALTER TABLE contacts DROP CONSTRAINT contacts_email_key;
ALTER TABLE forms DROP CONSTRAINT forms_pkey CASCADE;
ALTER TABLE linkedin_connections DROP CONSTRAINT linkedin_connections_pkey CASCADE;
ALTER TABLE linkedin_connections DROP CONSTRAINT linkedin_connections_account_member_key;
ALTER TABLE form_versions DROP CONSTRAINT form_versions_pkey;
ALTER TABLE field_mappings DROP CONSTRAINT field_mappings_pkey;
ALTER TABLE form_submissions DROP CONSTRAINT form_submissions_pkey;
ALTER TABLE form_submissions DROP CONSTRAINT form_submissions_contact_id_form_id_key;
ALTER TABLE imported_leads DROP CONSTRAINT imported_leads_pkey;
ALTER TABLE skipped_leads DROP CONSTRAINT skipped_leads_pkey;
ALTER TABLE form_counters DROP CONSTRAINT form_counters_pkey;
ALTER TABLE error_log DROP CONSTRAINT error_log_pkey;
DROP INDEX error_log_error_id_idx;
ALTER TABLE outbox DROP CONSTRAINT outbox_pkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE ad_accounts DROP CONSTRAINT ad_accounts_pkey;
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_pkey;
DROP INDEX sync_runs_one_active_idx;

ALTER TABLE contact_fields ADD COLUMN account_id bigint;
ALTER TABLE contacts ADD COLUMN account_id bigint;
ALTER TABLE forms ADD COLUMN account_id bigint;
ALTER TABLE form_versions ADD COLUMN account_id bigint;
ALTER TABLE field_mappings ADD COLUMN account_id bigint;
ALTER TABLE form_submissions ADD COLUMN account_id bigint;
ALTER TABLE imported_leads ADD COLUMN account_id bigint;
ALTER TABLE skipped_leads ADD COLUMN account_id bigint;
ALTER TABLE form_counters ADD COLUMN account_id bigint;
ALTER TABLE error_log ADD COLUMN account_id bigint;
ALTER TABLE outbox ADD COLUMN account_id bigint;
ALTER TABLE ad_accounts ADD COLUMN account_id bigint;
ALTER TABLE sync_runs ADD COLUMN account_id bigint;

-- The single-account era's data: into the account "default" (made only when there is
-- some). A connection already made for an account keeps it, and so do its ad accounts.
DO $$
DECLARE
    default_id bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM contacts) OR EXISTS (SELECT 1 FROM forms)
       OR EXISTS (SELECT 1 FROM linkedin_connections WHERE account_id IS NULL)
       OR EXISTS (SELECT 1 FROM error_log) OR EXISTS (SELECT 1 FROM imported_leads)
       OR EXISTS (SELECT 1 FROM skipped_leads) OR EXISTS (SELECT 1 FROM outbox) THEN
        -- "default", or "default-2", ... when an account of that name exists already: its
        -- data must not meet the single-account era's.
        INSERT INTO accounts (name)
        SELECT min(candidate) FROM (
            SELECT CASE n WHEN 1 THEN 'default' ELSE 'default-' || n END AS candidate
            FROM generate_series(1, 1000) AS n) AS names
        WHERE candidate NOT IN (SELECT name FROM accounts)
        RETURNING id INTO default_id;
    END IF;

    UPDATE linkedin_connections SET account_id = default_id WHERE account_id IS NULL;
    UPDATE ad_accounts a SET account_id = c.account_id
        FROM linkedin_connections c WHERE c.id = a.connection_id;
    -- Forms and what hangs from them stay with the contacts, in "default"; a form fetched
    -- through another account's connection forgets that connection (discovery sets it again).
    UPDATE forms f SET account_id = default_id,
        connection_id = CASE WHEN EXISTS (SELECT 1 FROM linkedin_connections c
                                          WHERE c.id = f.connection_id
                                            AND c.account_id = default_id)
                             THEN f.connection_id END;
    UPDATE form_versions v SET account_id = f.account_id FROM forms f WHERE f.id = v.form_id;
    UPDATE field_mappings m SET account_id = f.account_id FROM forms f WHERE f.id = m.form_id;
    UPDATE form_counters n SET account_id = f.account_id FROM forms f WHERE f.id = n.form_id;
    UPDATE sync_runs r SET account_id = f.account_id FROM forms f WHERE f.id = r.form_id;
    UPDATE contacts SET account_id = default_id;
    UPDATE form_submissions SET account_id = default_id;
    UPDATE imported_leads SET account_id = default_id;
    UPDATE skipped_leads SET account_id = default_id;
    UPDATE error_log SET account_id = default_id;
    UPDATE outbox SET account_id = default_id;

    -- Contact fields: "default" keeps the fields as they stand (custom ones included, so
    -- that no mapping loses its field); the other accounts get the standard ones below
    -- (leadsync_install_account): one install's custom fields are nobody else's.
    UPDATE contact_fields SET account_id = default_id;
    DELETE FROM contact_fields WHERE account_id IS NULL;
    -- Rows whose form had disappeared have no account to go to.
    DELETE FROM form_versions WHERE account_id IS NULL;
    DELETE FROM field_mappings WHERE account_id IS NULL;
    DELETE FROM form_counters WHERE account_id IS NULL;
    DELETE FROM sync_runs WHERE account_id IS NULL;
    DELETE FROM ad_accounts WHERE account_id IS NULL;
END
$$;

ALTER TABLE contact_fields ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE contacts ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE forms ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE form_versions ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE field_mappings ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE form_submissions ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE imported_leads ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE skipped_leads ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE form_counters ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE error_log ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE outbox ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE linkedin_connections ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE ad_accounts ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE sync_runs ALTER COLUMN account_id SET NOT NULL;

-- What installing leadsync in an account creates: the standard contact fields and the
-- three LinkedIn fields of the functional description.
CREATE FUNCTION leadsync_install_account(account bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO contact_fields (account_id, key, label, type, standard, system)
    SELECT account, f.key, f.label, f.type, true, f.system
    FROM (VALUES
        ('email',                 'Email',                   'email',    false),
        ('work_email',            'Work email',              'email',    false),
        ('first_name',            'First name',              'text',     false),
        ('last_name',             'Last name',               'text',     false),
        ('phone',                 'Phone',                   'phone',    false),
        ('work_phone',            'Work phone',              'phone',    false),
        ('company',               'Company',                 'text',     false),
        ('company_size',          'Company size',            'text',     false),
        ('job_title',             'Job title',               'text',     false),
        ('job_function',          'Job function',            'text',     false),
        ('seniority',             'Seniority',               'text',     false),
        ('industry',              'Industry',                'text',     false),
        ('gender',                'Gender',                  'text',     false),
        ('country',               'Country',                 'text',     false),
        ('state',                 'State or province',       'text',     false),
        ('city',                  'City',                    'text',     false),
        ('postal_code',           'Postal code',             'text',     false),
        ('linkedin_profile_url',  'LinkedIn profile',        'text',     false),
        ('linkedin_imported',     'LinkedIn - Imported',     'boolean',  true),
        ('linkedin_import_date',  'LinkedIn - Import date',  'datetime', true),
        ('linkedin_forms_filled', 'LinkedIn - Forms filled', 'relation', true)
    ) AS f (key, label, type, system)
    ON CONFLICT DO NOTHING
$$;

SELECT leadsync_install_account(a.id) FROM accounts a
WHERE NOT EXISTS (SELECT 1 FROM contact_fields f WHERE f.account_id = a.id);

-- Keys, each starting with the account.
ALTER TABLE contact_fields ADD PRIMARY KEY (account_id, key);
ALTER TABLE contacts ADD PRIMARY KEY (account_id, id);
ALTER TABLE contacts ADD CONSTRAINT contacts_account_email_key UNIQUE (account_id, email);
ALTER TABLE linkedin_connections ADD PRIMARY KEY (account_id, id);
ALTER TABLE linkedin_connections
    ADD CONSTRAINT linkedin_connections_account_member_key UNIQUE (account_id, member_urn);
ALTER TABLE forms ADD PRIMARY KEY (account_id, id);
ALTER TABLE form_versions ADD PRIMARY KEY (account_id, form_id, version_id);
ALTER TABLE field_mappings ADD PRIMARY KEY (account_id, form_id, source_kind, source_key);
ALTER TABLE form_submissions ADD PRIMARY KEY (account_id, id);
ALTER TABLE form_submissions
    ADD CONSTRAINT form_submissions_contact_form_key UNIQUE (account_id, contact_id, form_id);
-- Two accounts connected to one ad account each import the lead, once each.
ALTER TABLE imported_leads ADD PRIMARY KEY (account_id, lead_id);
ALTER TABLE skipped_leads ADD PRIMARY KEY (account_id, lead_id);
ALTER TABLE form_counters ADD PRIMARY KEY (account_id, form_id);
ALTER TABLE error_log ADD PRIMARY KEY (account_id, id);
CREATE UNIQUE INDEX error_log_error_id_idx ON error_log (account_id, error_id);
ALTER TABLE outbox ADD PRIMARY KEY (account_id, id);
ALTER TABLE outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (account_id, event_id);
-- Two members of one account may both reach an ad account: a row per connection.
ALTER TABLE ad_accounts ADD PRIMARY KEY (account_id, connection_id, urn);
ALTER TABLE sync_runs ADD PRIMARY KEY (account_id, id);
CREATE UNIQUE INDEX sync_runs_one_active_idx ON sync_runs (account_id, form_id)
    WHERE status IN ('queued', 'running');

ALTER TABLE field_mappings ADD FOREIGN KEY (account_id, field_key)
    REFERENCES contact_fields (account_id, key);
ALTER TABLE form_submissions ADD FOREIGN KEY (account_id, contact_id)
    REFERENCES contacts (account_id, id) ON DELETE CASCADE;
ALTER TABLE form_submissions ADD FOREIGN KEY (account_id, form_id)
    REFERENCES forms (account_id, id);
ALTER TABLE form_versions ADD FOREIGN KEY (account_id, form_id)
    REFERENCES forms (account_id, id) ON DELETE CASCADE;
ALTER TABLE field_mappings ADD FOREIGN KEY (account_id, form_id)
    REFERENCES forms (account_id, id) ON DELETE CASCADE;
ALTER TABLE form_counters ADD FOREIGN KEY (account_id, form_id)
    REFERENCES forms (account_id, id) ON DELETE CASCADE;
ALTER TABLE sync_runs ADD FOREIGN KEY (account_id, form_id)
    REFERENCES forms (account_id, id) ON DELETE CASCADE;
ALTER TABLE ad_accounts ADD FOREIGN KEY (account_id, connection_id)
    REFERENCES linkedin_connections (account_id, id) ON DELETE CASCADE;
ALTER TABLE forms ADD FOREIGN KEY (account_id, connection_id)
    REFERENCES linkedin_connections (account_id, id) ON DELETE SET NULL (connection_id);

-- The indexes the queries of one account use, the account first.
DROP INDEX contacts_import_date_idx;
CREATE INDEX contacts_import_date_idx ON contacts (account_id, linkedin_import_date);
DROP INDEX form_submissions_form_idx;
CREATE INDEX form_submissions_form_idx ON form_submissions (account_id, form_id, test_lead);
DROP INDEX form_submissions_lead_idx;
CREATE INDEX form_submissions_lead_idx ON form_submissions (account_id, lead_id);
DROP INDEX imported_leads_form_idx;
CREATE INDEX imported_leads_form_idx ON imported_leads (account_id, form_id, submitted_at);
-- Hydration asks which accounts already hold a lead.
CREATE INDEX imported_leads_lead_idx ON imported_leads (lead_id);
DROP INDEX skipped_leads_form_idx;
CREATE INDEX skipped_leads_form_idx ON skipped_leads (account_id, form_id, skipped_at);
DROP INDEX error_log_form_idx;
CREATE INDEX error_log_form_idx ON error_log (account_id, form_id, occurred_at);
DROP INDEX error_log_lead_code_idx;
CREATE INDEX error_log_lead_code_idx ON error_log (account_id, lead_id, code)
    WHERE lead_id IS NOT NULL;
DROP INDEX sync_runs_form_idx;
CREATE INDEX sync_runs_form_idx ON sync_runs (account_id, form_id, requested_at DESC);
-- Routing: which accounts connected the owner of a notification.
CREATE INDEX ad_accounts_organization_idx ON ad_accounts (organization_urn);
CREATE INDEX ad_accounts_urn_idx ON ad_accounts (urn);

-- The status indicator's "last import" moves to the counters' row, which the import bumps
-- anyway: a trigger updating the form as well wrote a second row per form and batch (with
-- leads spread over 200 accounts, a batch touches hundreds of forms).
ALTER TABLE form_counters ADD COLUMN last_imported_at timestamptz;
UPDATE form_counters c SET last_imported_at = f.last_imported_at
FROM forms f WHERE f.account_id = c.account_id AND f.id = c.form_id;
DROP TRIGGER form_counters_last_imported ON form_counters;
DROP FUNCTION forms_touch_last_imported();
ALTER TABLE forms DROP COLUMN last_imported_at;

-- The owners (ad accounts, organizations) whose leads each connection may read, as
-- discovery last found them: routing sends a notification to the accounts whose connection
-- reads its owner, and to no other (an ad account's organization is not readable by every
-- member with a role on the ad account). Replaced for a connection at each discovery; an
-- owner is removed when LinkedIn refuses the connection its lead (403).
CREATE TABLE connection_owners (
    account_id     bigint NOT NULL,
    connection_id  bigint NOT NULL,
    owner_urn      text NOT NULL,
    found_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, connection_id, owner_urn),
    FOREIGN KEY (account_id, connection_id)
        REFERENCES linkedin_connections (account_id, id) ON DELETE CASCADE
);
CREATE INDEX connection_owners_owner_idx ON connection_owners (owner_urn);
-- Until the next discovery, what routing read before: the ad accounts and their
-- organizations.
INSERT INTO connection_owners (account_id, connection_id, owner_urn)
SELECT account_id, connection_id, urn FROM ad_accounts
UNION
SELECT account_id, connection_id, organization_urn FROM ad_accounts
WHERE organization_urn IS NOT NULL;

-- What reaches leadsync without an account to hold it: records too broken to name one,
-- and notifications for owners no account connected (acknowledged to LinkedIn, counted
-- here, not imported). The operator's, not any account's.
CREATE TABLE pipeline_errors (
    id           bigserial PRIMARY KEY,
    error_id     uuid NOT NULL UNIQUE,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    form_id      bigint,
    lead_id      text,
    stage        text NOT NULL,
    code         text NOT NULL,
    message      text NOT NULL,
    origin       text,
    raw_ref      jsonb
);

CREATE TABLE unrouted_owners (
    owner_urn      text PRIMARY KEY,
    notifications  bigint NOT NULL DEFAULT 0,
    last_lead_id   text,
    last_form_id   bigint,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now()
);

-- Row-level security on every account table, and the default account of a new row.
DO $$
DECLARE
    account_table text;
BEGIN
    FOREACH account_table IN ARRAY ARRAY[
        'contact_fields', 'contacts', 'forms', 'form_versions', 'field_mappings',
        'form_submissions', 'imported_leads', 'skipped_leads', 'form_counters', 'error_log',
        'outbox', 'linkedin_connections', 'ad_accounts', 'sync_runs', 'connection_owners'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN account_id SET DEFAULT leadsync_account()',
                       account_table);
        EXECUTE format('ALTER TABLE %I ADD FOREIGN KEY (account_id) REFERENCES accounts (id)'
                       ' ON DELETE CASCADE', account_table);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', account_table);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', account_table);
        -- The sub-select is evaluated once per statement (an InitPlan): the function
        -- inlined would parse the setting again for every row, which with 200 accounts in
        -- hand made an import batch twice as slow (bench/pipeline.py).
        EXECUTE format('CREATE POLICY rows_of_accounts_in_hand ON %I'
                       ' USING (account_id = ANY ((SELECT leadsync_accounts())::bigint[]))',
                       account_table);
    END LOOP;
END
$$;

-- The processes' role. Roles belong to the whole server: another database of it may have
-- made this one already.
DO $$
BEGIN
    CREATE ROLE leadsync_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
DO $$
BEGIN
    -- The owner switches to it (SET ROLE); a superuser owner needs no membership.
    EXECUTE format('GRANT leadsync_app TO %I', current_user);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'leadsync_app not granted to %: %', current_user, SQLERRM;
END
$$;
GRANT USAGE ON SCHEMA public TO leadsync_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO leadsync_app;
REVOKE ALL ON schema_migrations FROM leadsync_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO leadsync_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO leadsync_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO leadsync_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO leadsync_app;
