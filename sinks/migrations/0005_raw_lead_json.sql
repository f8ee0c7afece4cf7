-- leadsync 0005: a submission's raw lead is kept as the JSON text it arrived in (type json,
-- not jsonb). It is an archive, read back whole and never searched; building its binary
-- jsonb form was a third of the time of the submissions upsert in bench/pipeline.py. The
-- text is compressed with lz4 rather than pglz (faster), where the server has lz4.
ALTER TABLE form_submissions ALTER COLUMN raw_lead TYPE json USING raw_lead::json;
DO $$
BEGIN
    ALTER TABLE form_submissions ALTER COLUMN raw_lead SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server; raw_lead stays pglz-compressed';
END
$$;
