-- Direct SQL edits of editable layers (ADR 0013, decision 9) and overviews kept in step
-- with every edit (decision 8).
--
-- Each editable layer's current table gets four statement triggers. BEFORE: an analyst's
-- statement (no `onemap.edit` setting; the API sets it in its own transaction) first takes
-- the layer's write lock, the one the API takes, before any row lock, so the two never
-- deadlock. AFTER (one per operation, with the statement's transition tables, i.e. every
-- row it changed): the rows' before/after documents go into onemap.feature_edits, with one
-- new layer version per statement (actor = the database role), and the layer row's update
-- sends the catalog NOTIFY, which purges the touched tiles in every process. API and
-- direct edits alike patch the table's tile overviews in the same transaction.

-- The changed rows of a statement as GeoJSON Features (the API's edit record format).
CREATE FUNCTION onemap.edit_document(doc jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('type', 'Feature', 'id', doc -> 'fid',
        'geometry', doc -> 'geom', 'properties', doc - 'fid' - 'geom')
$$;

CREATE FUNCTION onemap.is_api_edit() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('onemap.edit', true), '') <> '' $$;

-- Layers whose current table is `tbl` and that are open for editing.
CREATE FUNCTION onemap.editable_layers_on(tbl text) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT l.id FROM onemap.layers AS l
    JOIN onemap.layer_versions AS v ON v.layer_id = l.id AND v.version = l.current_version
    WHERE l.editable AND v.table_name = tbl ORDER BY l.id
$$;

CREATE FUNCTION onemap.direct_edit_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT onemap.is_api_edit() THEN
        PERFORM pg_advisory_xact_lock(hashtext('layer:' || id))
        FROM onemap.editable_layers_on(TG_TABLE_NAME) AS id;
    END IF;
    RETURN NULL;
END $$;

-- Delete the changed features from every overview of the table and add their new state
-- at every level (a changed feature is never missing at a low zoom; it may share its
-- 4×4-pixel cell with the feature that was kept there, until the next publish).
CREATE FUNCTION onemap.patch_overviews(tbl text, fids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ovw record;
    columns text;
BEGIN
    FOR ovw IN
        SELECT DISTINCT o.table_name, o.family, o.max_level
        FROM onemap.tile_overviews AS o
        JOIN onemap.layer_versions AS v ON v.layer_id = o.layer_id AND v.version = o.version
        WHERE v.table_name = tbl AND to_regclass(format('onemap_data.%I', o.table_name)) IS NOT NULL
    LOOP
        SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO columns
        FROM pg_attribute AS a
        WHERE a.attrelid = to_regclass(format('onemap_data.%I', ovw.table_name))
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('z', 'fid', 'geom');
        EXECUTE format('DELETE FROM onemap_data.%I WHERE fid = ANY($1)', ovw.table_name)
        USING fids;
        EXECUTE format(
            'INSERT INTO onemap_data.%1$I (z, fid, geom%2$s) SELECT z, t.fid, %3$s%4$s '
            'FROM onemap_data.%5$I AS t, generate_series(0, %6$s) AS z WHERE t.fid = ANY($1)',
            ovw.table_name,
            coalesce(', ' || columns, ''),
            CASE WHEN ovw.family = 'mercator' THEN 'ST_Transform(t.geom, 3857)' ELSE 't.geom' END,
            coalesce(', ' || (SELECT string_agg('t.' || c, ', ')
                              FROM unnest(string_to_array(columns, ', ')) AS c), ''),
            tbl,
            ovw.max_level)
        USING fids;
    END LOOP;
END $$;

-- One new version of `layer` for a statement's changes: the current row copied with the
-- new count and extent, the edits recorded, the layer moved to it (NOTIFY).
CREATE FUNCTION onemap.record_direct_edit(layer text, tbl text, changes jsonb, stmt text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur_version integer;
    new_version integer;
    at timestamptz := date_trunc('second', clock_timestamp());
    delta integer;
    grown box2d;
BEGIN
    SELECT current_version INTO cur_version FROM onemap.layers WHERE id = layer;
    SELECT max(version) + 1 INTO new_version FROM onemap.layer_versions WHERE layer_id = layer;
    SELECT count(*) FILTER (WHERE c ->> 'op' = 'create') - count(*) FILTER (WHERE c ->> 'op' = 'delete'),
           ST_Extent(ST_GeomFromGeoJSON(c -> 'after' -> 'geometry'))
    INTO delta, grown
    FROM jsonb_array_elements(changes) AS c;
    INSERT INTO onemap.layer_versions (
        layer_id, version, table_name, storage_srid, geometry_type, extent, temporal_start,
        temporal_end, temporal_field, temporal_end_field, field_schema, feature_count,
        source_sha256, lineage, created_by, created_at, asset_path, source_fingerprint, layer_meta)
    SELECT layer_id, new_version, table_name, storage_srid, geometry_type,
           CASE WHEN grown IS NULL THEN extent
                WHEN extent IS NULL THEN ARRAY[ST_XMin(grown), ST_YMin(grown), ST_XMax(grown), ST_YMax(grown)]
                ELSE ARRAY[least(extent[1], ST_XMin(grown)), least(extent[2], ST_YMin(grown)),
                           greatest(extent[3], ST_XMax(grown)), greatest(extent[4], ST_YMax(grown))]
           END,
           temporal_start, temporal_end, temporal_field, temporal_end_field, field_schema,
           feature_count + delta, source_sha256,
           jsonb_build_object('edit', 'sql', 'statement', stmt,
                              'rows', jsonb_array_length(changes), 'who', current_user::text),
           current_user::text, at, asset_path, source_fingerprint, layer_meta
    FROM onemap.layer_versions WHERE layer_id = layer AND version = cur_version;
    INSERT INTO onemap.feature_edits (layer_id, version, table_name, fid, operation, before,
        after, modified_at, actor_kind, actor_subject)
    SELECT layer, new_version, tbl, (c ->> 'fid')::bigint, c ->> 'op', c -> 'before', c -> 'after',
           -- whole seconds, at least one after the feature's previous change (decision 4)
           greatest(at, (SELECT max(e.modified_at) + interval '1 second'
                         FROM onemap.feature_edits AS e
                         WHERE e.table_name = tbl AND e.fid = (c ->> 'fid')::bigint)),
           'database', current_user::text
    FROM jsonb_array_elements(changes) AS c;
    UPDATE onemap.layers SET current_version = new_version, updated_at = now() WHERE id = layer;
    -- Subscribers are told as of an API edit (layers/webhooks/events.py, ADR 0014).
    INSERT INTO onemap.change_events (layer_id, type, data, access_level, department_id)
    SELECT id, 'cn.gov.gd.onemap.feature.edited',
           jsonb_build_object('layer', id, 'version', new_version,
               'who', 'database:' || current_user::text,
               'operation', CASE stmt WHEN 'insert' THEN 'create' ELSE stmt END,
               'fids', (SELECT jsonb_agg((c ->> 'fid')::bigint) FROM jsonb_array_elements(changes) AS c)),
           access_level, department_id
    FROM onemap.layers WHERE id = layer;
END $$;

CREATE FUNCTION onemap.direct_edit_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    layer text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_object('fid', n.fid, 'op', 'create', 'before', NULL,
                         'after', onemap.edit_document(to_jsonb(n))))
        INTO changes FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(jsonb_build_object('fid', o.fid, 'op', 'delete',
                         'before', onemap.edit_document(to_jsonb(o)), 'after', NULL))
        INTO changes FROM old_rows AS o;
    ELSE
        SELECT jsonb_agg(jsonb_build_object(
                   'fid', coalesce(n.fid, o.fid),
                   'op', CASE WHEN o.fid IS NULL THEN 'create' WHEN n.fid IS NULL THEN 'delete'
                              ELSE 'update' END,
                   'before', CASE WHEN o.fid IS NULL THEN NULL
                                  ELSE onemap.edit_document(to_jsonb(o)) END,
                   'after', CASE WHEN n.fid IS NULL THEN NULL
                                 ELSE onemap.edit_document(to_jsonb(n)) END))
        INTO changes FROM old_rows AS o FULL JOIN new_rows AS n ON n.fid = o.fid;
    END IF;
    IF changes IS NULL THEN
        RETURN NULL;  -- the statement changed no row
    END IF;
    PERFORM onemap.patch_overviews(TG_TABLE_NAME,
        ARRAY(SELECT (c ->> 'fid')::bigint FROM jsonb_array_elements(changes) AS c));
    IF NOT onemap.is_api_edit() THEN
        FOR layer IN SELECT * FROM onemap.editable_layers_on(TG_TABLE_NAME) LOOP
            PERFORM onemap.record_direct_edit(layer, TG_TABLE_NAME, changes, lower(TG_OP));
        END LOOP;
    END IF;
    RETURN NULL;
END $$;

-- The triggers on one data table (idempotent; never replaced while the table is in use).
CREATE FUNCTION onemap.watch_direct_edits(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target regclass := to_regclass(format('onemap_data.%I', tbl));
BEGIN
    IF target IS NULL
       OR (SELECT relkind FROM pg_class WHERE oid = target) NOT IN ('r', 'p')
       OR EXISTS (SELECT FROM pg_trigger WHERE tgrelid = target AND tgname = 'onemap_edit_lock') THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TRIGGER onemap_edit_lock BEFORE INSERT OR UPDATE OR DELETE '
                   'ON %s FOR EACH STATEMENT EXECUTE FUNCTION onemap.direct_edit_lock()', target);
    EXECUTE format('CREATE TRIGGER onemap_edit_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION onemap.direct_edit_record()', target);
    EXECUTE format('CREATE TRIGGER onemap_edit_update AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION onemap.direct_edit_record()', target);
    EXECUTE format('CREATE TRIGGER onemap_edit_delete AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION onemap.direct_edit_record()', target);
END $$;

-- Opening a layer for editing, or publishing a new table for an editable one, watches it.
CREATE FUNCTION onemap.watch_editable_layer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM onemap.watch_direct_edits(v.table_name)
    FROM onemap.layer_versions AS v
    WHERE v.layer_id = NEW.id AND v.version = NEW.current_version;
    RETURN NULL;
END $$;

CREATE TRIGGER layers_watch_editable
AFTER INSERT OR UPDATE OF editable, current_version ON onemap.layers
FOR EACH ROW WHEN (NEW.editable) EXECUTE FUNCTION onemap.watch_editable_layer();

SELECT onemap.watch_direct_edits(v.table_name)
FROM onemap.layers AS l
JOIN onemap.layer_versions AS v ON v.layer_id = l.id AND v.version = l.current_version
WHERE l.editable;
