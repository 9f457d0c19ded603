-- TRUNCATE of an editable layer's current table is an edit like a DELETE of every row
-- (ADR 0013, decision 9): a BEFORE TRUNCATE statement trigger — the rows are still there;
-- TRUNCATE has no transition tables and no AFTER trigger could see them — takes the
-- layer's write lock, records every feature as deleted (before: its document) in one new
-- version, and empties the table's overviews. The layer row's NOTIFY then purges, and
-- since the purge reads the edit rows (decision 17), it drops every tile the features
-- touched: the whole layer's.

CREATE FUNCTION onemap.direct_edit_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    layer text;
    ovw record;
BEGIN
    IF onemap.is_api_edit() THEN
        RETURN NULL;  -- the API never truncates; an API transaction that did is its own
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('layer:' || id))
    FROM onemap.editable_layers_on(TG_TABLE_NAME) AS id;
    EXECUTE format(
        'SELECT jsonb_agg(jsonb_build_object(''fid'', o.fid, ''op'', ''delete'', '
        '''before'', onemap.edit_document(to_jsonb(o)), ''after'', NULL)) '
        'FROM %I.%I AS o', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    INTO changes;
    IF changes IS NULL THEN
        RETURN NULL;  -- an empty table: nothing changes
    END IF;
    FOR ovw IN
        SELECT DISTINCT o.table_name
        FROM onemap.tile_overviews AS o
        JOIN onemap.layer_versions AS v ON v.layer_id = o.layer_id AND v.version = o.version
        WHERE v.table_name = TG_TABLE_NAME
          AND to_regclass(format('onemap_data.%I', o.table_name)) IS NOT NULL
    LOOP
        EXECUTE format('DELETE FROM onemap_data.%I', ovw.table_name);
    END LOOP;
    FOR layer IN SELECT * FROM onemap.editable_layers_on(TG_TABLE_NAME) LOOP
        PERFORM onemap.record_direct_edit(layer, TG_TABLE_NAME, changes, 'truncate');
    END LOOP;
    RETURN NULL;
END $$;

-- The TRUNCATE trigger of a table 0017's triggers watch (idempotent): called after
-- onemap.watch_direct_edits, which decides what is watched.
CREATE FUNCTION onemap.watch_truncate(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target regclass := to_regclass(format('onemap_data.%I', tbl));
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = target AND tgname = 'onemap_edit_lock')
       AND NOT EXISTS (SELECT FROM pg_trigger
                       WHERE tgrelid = target AND tgname = 'onemap_edit_truncate') THEN
        EXECUTE format('CREATE TRIGGER onemap_edit_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION onemap.direct_edit_truncate()', target);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION onemap.watch_editable_layer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM onemap.watch_direct_edits(v.table_name), onemap.watch_truncate(v.table_name)
    FROM onemap.layer_versions AS v
    WHERE v.layer_id = NEW.id AND v.version = NEW.current_version;
    RETURN NULL;
END $$;

SELECT onemap.watch_truncate(v.table_name)
FROM onemap.layers AS l
JOIN onemap.layer_versions AS v ON v.layer_id = l.id AND v.version = l.current_version
WHERE l.editable;
