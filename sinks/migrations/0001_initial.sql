-- leadsync 0001: contacts, form submissions, the imported-lead ledger, forms and their
-- versions, field mappings, per-form counters, the error log and the outbox.

-- The contact fields leadsync can write. Standard fields are columns of "contacts";
-- custom ones live in contacts.custom_fields under their key. Mappings point here, so a
-- field that is deleted (deleted_at set) makes its mappings fail with a clear error.
CREATE TABLE contact_fields (
    key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    label       text NOT NULL,
    type        text NOT NULL CHECK (type IN ('text', 'email', 'phone', 'number', 'boolean',
                                              'date', 'single_choice', 'multiple_choice',
                                              'datetime', 'relation')),
    standard    boolean NOT NULL DEFAULT false,
    -- Allowed values of a choice field; null means any.
    choices     jsonb,
    -- Written only by leadsync itself (the three LinkedIn fields).
    system      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

INSERT INTO contact_fields (key, label, type, standard, system) VALUES
    ('email',                'Email',                  'email',    true, false),
    ('work_email',           'Work email',             'email',    true, false),
    ('first_name',           'First name',             'text',     true, false),
    ('last_name',            'Last name',              'text',     true, false),
    ('phone',                'Phone',                  'phone',    true, false),
    ('work_phone',           'Work phone',             'phone',    true, false),
    ('company',              'Company',                'text',     true, false),
    ('company_size',         'Company size',           'text',     true, false),
    ('job_title',            'Job title',              'text',     true, false),
    ('job_function',         'Job function',           'text',     true, false),
    ('seniority',            'Seniority',              'text',     true, false),
    ('industry',             'Industry',               'text',     true, false),
    ('gender',               'Gender',                 'text',     true, false),
    ('country',              'Country',                'text',     true, false),
    ('state',                'State or province',      'text',     true, false),
    ('city',                 'City',                   'text',     true, false),
    ('postal_code',          'Postal code',            'text',     true, false),
    ('linkedin_profile_url', 'LinkedIn profile',       'text',     true, false),
    -- Created at install (the functional description's default fields).
    ('linkedin_imported',     'LinkedIn - Imported',     'boolean',  true, true),
    ('linkedin_import_date',  'LinkedIn - Import date',  'datetime', true, true),
    ('linkedin_forms_filled', 'LinkedIn - Forms filled', 'relation', true, true);

CREATE TABLE contacts (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The identity: trimmed and lower-cased by leadsync before it gets here.
    email                 text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND email <> ''),
    work_email            text,
    first_name            text,
    last_name             text,
    phone                 text,
    work_phone            text,
    company               text,
    company_size          text,
    job_title             text,
    job_function          text,
    seniority             text,
    industry              text,
    gender                text,
    country               text,
    state                 text,
    city                  text,
    postal_code           text,
    linkedin_profile_url  text,
    custom_fields         jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- "LinkedIn - Imported" and "LinkedIn - Import date" (last import or update).
    linkedin_imported     boolean NOT NULL DEFAULT false,
    linkedin_import_date  timestamptz,
    -- submittedAt of the lead whose values the contact holds: an older lead never
    -- overwrites them (architecture.md, guarantee 3).
    linkedin_submitted_at timestamptz,
    -- Where the contact came from; a DELETED lead erases the contact only when LinkedIn is
    -- its only source.
    sources               text[] NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_import_date_idx ON contacts (linkedin_import_date);
CREATE INDEX contacts_custom_fields_idx ON contacts USING gin (custom_fields);

-- LinkedIn forms as discovered (or first seen on a lead), with the per-form sync settings.
CREATE TABLE forms (
    id                   bigint PRIMARY KEY,              -- LinkedIn's leadGenForm id
    name                 text NOT NULL DEFAULT '',
    owner_urn            text,                            -- sponsoredAccount or organization
    owner_name           text,
    state                text,                            -- DRAFT, PUBLISHED, ARCHIVED, ...
    locale               text,
    created_on_linkedin  timestamptz,
    -- The form's "Import" switch: off on discovery so fields can be mapped first.
    import_enabled       boolean NOT NULL DEFAULT false,
    import_enabled_at    timestamptz,
    periodic_sync        boolean NOT NULL DEFAULT true,
    sync_interval_hours  integer NOT NULL DEFAULT 24 CHECK (sync_interval_hours BETWEEN 1 AND 8760),
    -- The scheduled pull covers (watermark - overlap, now]; advanced after a complete run.
    watermark            timestamptz,
    last_synced_at       timestamptz,
    last_imported_at     timestamptz,
    discovered_at        timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE form_versions (
    form_id        bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    version_id     integer NOT NULL,
    questions      jsonb NOT NULL DEFAULT '[]'::jsonb,
    consents       jsonb NOT NULL DEFAULT '[]'::jsonb,
    hidden_fields  jsonb NOT NULL DEFAULT '[]'::jsonb,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (form_id, version_id)
);

-- LinkedIn question (by predefinedField or questionId), consent or hidden field -> contact
-- field. Keys never use labels: labels are localized and change.
CREATE TABLE field_mappings (
    form_id      bigint NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    source_kind  text NOT NULL CHECK (source_kind IN ('predefined', 'question', 'consent', 'hidden')),
    source_key   text NOT NULL,
    field_key    text NOT NULL REFERENCES contact_fields (key),
    automatic    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (form_id, source_kind, source_key)
);

-- "LinkedIn - Forms filled": one row per (contact, form) holding the latest submission.
CREATE TABLE form_submissions (
    id             bigserial PRIMARY KEY,
    contact_id     uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    form_id        bigint NOT NULL REFERENCES forms (id),
    lead_id        text NOT NULL,
    form_name      text NOT NULL DEFAULT '',
    form_version   integer NOT NULL,
    owner_urn      text,
    owner_name     text,
    campaign_urn   text,
    campaign_name  text,
    creative_urn   text,
    creative_name  text,
    lead_type      text NOT NULL,
    test_lead      boolean NOT NULL DEFAULT false,
    submitted_at   timestamptz NOT NULL,
    -- Every answer as received, resolved against the lead's form version (mapped or not).
    answers        jsonb NOT NULL DEFAULT '[]'::jsonb,
    consents       jsonb NOT NULL DEFAULT '[]'::jsonb,
    hidden_fields  jsonb NOT NULL DEFAULT '[]'::jsonb,
    raw_lead       jsonb NOT NULL,
    imported_at    timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contact_id, form_id)
);
CREATE INDEX form_submissions_form_idx ON form_submissions (form_id, test_lead);
CREATE INDEX form_submissions_lead_idx ON form_submissions (lead_id);

-- Every lead id ever imported: the dedupe truth (a faust table is only a cache of it).
CREATE TABLE imported_leads (
    lead_id       text PRIMARY KEY,
    form_id       bigint NOT NULL,
    contact_id    uuid,
    submitted_at  timestamptz NOT NULL,
    origin        text NOT NULL CHECK (origin IN ('push', 'schedule', 'manual')),
    sync_run_id   uuid,
    imported_at   timestamptz NOT NULL DEFAULT now(),
    -- Set when LinkedIn reports the lead DELETED and its data was erased.
    erased_at     timestamptz
);
CREATE INDEX imported_leads_form_idx ON imported_leads (form_id, submitted_at);

-- Since the form was configured or its counters were last reset (a manual import resets).
CREATE TABLE form_counters (
    form_id    bigint PRIMARY KEY REFERENCES forms (id) ON DELETE CASCADE,
    imported   bigint NOT NULL DEFAULT 0,    -- contacts created
    updated    bigint NOT NULL DEFAULT 0,    -- contacts updated
    errors     bigint NOT NULL DEFAULT 0,    -- leads that failed (configuration, invalid value)
    skipped    bigint NOT NULL DEFAULT 0,    -- leads received while Import was off
    reset_at   timestamptz NOT NULL DEFAULT now()
);

-- The downloadable error log: one line per lead that could not be imported.
CREATE TABLE error_log (
    id           bigserial PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    form_id      bigint,
    lead_id      text,
    stage        text NOT NULL,
    code         text NOT NULL,
    message      text NOT NULL,
    field        text,
    origin       text,
    sync_run_id  uuid,
    -- Where the raw input can be found again (topic, partition, offset) or the raw bytes.
    raw_ref      jsonb
);
CREATE INDEX error_log_form_idx ON error_log (form_id, occurred_at);

-- Transactional outbox: one row per committed contact change, published by the relay.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    contact_id    uuid NOT NULL,
    event_type    text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
