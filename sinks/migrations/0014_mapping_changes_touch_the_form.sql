-- leadsync 0014: any change to a form's field mappings writes its forms row too.
--
-- The worker keeps the forms' import contexts (settings, version, mappings) between batches
-- and reuses one while the form's and the version's rows are the ones it read (their xmin,
-- sinks/context_cache.py). The mappings live in their own rows; so that one stamp covers
-- them, every statement that inserts, updates or deletes mappings rewrites the forms row
-- of each form it touched (a new row version, nothing else changes). Whoever writes the
-- mappings (the admin API and console, the worker's automatic mappings of a new version,
-- discovery, an operator's SQL), the form's stamp moves with them.
--
-- Writers lock the forms row before they write mappings (sinks.mappings_store.lock_form,
-- sinks.forms.register_forms), so that the row this trigger rewrites is already theirs:
-- the order forms → mappings is the same everywhere and cannot deadlock.

CREATE FUNCTION leadsync_mappings_touch_forms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE forms f SET mapping_version = f.mapping_version
        FROM (SELECT DISTINCT account_id, form_id FROM old_rows) c
        WHERE f.account_id = c.account_id AND f.id = c.form_id;
    ELSE
        UPDATE forms f SET mapping_version = f.mapping_version
        FROM (SELECT DISTINCT account_id, form_id FROM new_rows) c
        WHERE f.account_id = c.account_id AND f.id = c.form_id;
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with transition tables takes one event, hence three.
CREATE TRIGGER field_mappings_inserted_touch_forms AFTER INSERT ON field_mappings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leadsync_mappings_touch_forms();
CREATE TRIGGER field_mappings_updated_touch_forms AFTER UPDATE ON field_mappings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leadsync_mappings_touch_forms();
CREATE TRIGGER field_mappings_deleted_touch_forms AFTER DELETE ON field_mappings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leadsync_mappings_touch_forms();

GRANT EXECUTE ON FUNCTION leadsync_mappings_touch_forms() TO leadsync_app;
