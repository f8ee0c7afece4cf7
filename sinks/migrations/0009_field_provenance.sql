-- leadsync 0009: field provenance (issue #13). Which source set each contact field last, so
-- that a manual import with "sync already-imported contacts too" can re-apply a form whose
-- mapping was wrong: overwrite what the form maps now, clear what it wrote through a mapping
-- that no longer points there, and leave alone what another source wrote since.

-- A form's mapping set has a version: 1 as discovered, one more each time a saved set differs
-- from the one before (sinks.mappings_store.replace_mappings). Provenance names the version
-- a value was written with.
ALTER TABLE forms ADD COLUMN mapping_version integer NOT NULL DEFAULT 1;

-- Per field key (standard column or custom field key; the two share contact_fields' keys):
-- what leadsync wrote there last, as
--   {"form_id": 7234246, "lead_id": "...", "mapping_version": 2,
--    "mapping_source": "predefined:COMPANY_NAME", "at": "2026-...", "value": "ACME"}
-- A field whose value differs from the recorded one was written by someone else since
-- ("other"); a field with a value and no entry was never written by leadsync.
ALTER TABLE contacts ADD COLUMN field_sources jsonb NOT NULL DEFAULT '{}'::jsonb;
