-- Repairs of the edit triggers (issue 18), keeping 0026's design of merged-overview edits.
--
-- 1. 0026 chose the merged rows to delete, and the features to put back, with
--    ST_Intersects on the merged rows' pixel unions, which are not always valid GEOS input:
--    edits failed with a GEOS TopologyException. Merged rows are now chosen by bounding box
--    only (`&&` on each changed row's box, answered by the overview's GiST index), and the
--    features put back are those whose box meets a deleted row's box and that the level
--    does not already hold. No GEOS call on a merged row remains.
-- 2. `to_jsonb(n)` / `to_jsonb(o)` named a column when the table has one called n or o (an
--    SQL UPDATE failed, a TRUNCATE recorded the column): the rows are now `n.*` / `o.*`.
-- 3. One function each for what 0017-0026 wrote twice: the attribute columns an overview
--    shares with its version table, a changed row's edit record, recording a statement's
--    changes on every editable layer of the table, and an analyst's layer lock.

-- ", a, b": the attribute columns both the version table and the overview have.
CREATE FUNCTION onemap.overview_shared_columns(tbl text, overview text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(', ' || quote_ident(d.attname), '' ORDER BY d.attnum), '')
    FROM pg_attribute AS d
    JOIN pg_attribute AS ov ON ov.attrelid = to_regclass(overview) AND ov.attname = d.attname
    WHERE d.attrelid = to_regclass(format('onemap_data.%I', tbl)) AND d.attnum > 0
      AND NOT d.attisdropped AND NOT ov.attisdropped AND d.attname NOT IN ('fid', 'geom')
$$;

-- The overviews of a version table that exist (merged: with a `_merged` column, 0025).
CREATE FUNCTION onemap.overviews_of(tbl text)
RETURNS TABLE (name text, family text, max_level integer, merged boolean)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT format('onemap_data.%I', o.table_name), o.family, o.max_level,
           EXISTS (SELECT FROM pg_attribute
                   WHERE attrelid = to_regclass(format('onemap_data.%I', o.table_name))
                     AND attname = '_merged' AND NOT attisdropped)
    FROM onemap.tile_overviews AS o
    JOIN onemap.layer_versions AS v ON v.layer_id = o.layer_id AND v.version = o.version
    WHERE v.table_name = tbl AND to_regclass(format('onemap_data.%I', o.table_name)) IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION onemap.patch_overviews(tbl text, fids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target record;
BEGIN
    FOR target IN SELECT * FROM onemap.overviews_of(tbl) LOOP
        EXECUTE format('DELETE FROM %s WHERE fid = ANY($1)', target.name) USING fids;
        EXECUTE format('INSERT INTO %1$s (z, fid, geom%2$s) SELECT z, fid, %3$s%2$s '
                       'FROM onemap_data.%4$I AS t, generate_series(0, %5$s) AS z '
                       'WHERE fid = ANY($1)',
                       target.name, onemap.overview_shared_columns(tbl, target.name),
                       CASE WHEN target.family = 'mercator' THEN 'ST_Transform(t.geom, 3857)'
                            ELSE 't.geom' END,
                       tbl, target.max_level)
        USING fids;
    END LOOP;
END $$;

-- After patch_overviews, at every level of every merged overview: the merged rows whose
-- box meets one of `boxes` (the changed rows' envelopes, before and after) deleted, and
-- the current features whose box meets a deleted row's box put in as themselves unless
-- the level holds them already. Boxes only: no pixel union is handed to GEOS. As for the
-- build, no JIT (compiling took 0.6 s of an edit's 5 on the bench parcels) and the sort of
-- the features put back (95,000 under one z1 row there) kept in memory.
CREATE FUNCTION onemap.remerge_overviews(tbl text, boxes geometry[]) RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $$
DECLARE
    target record;
    grid_boxes geometry[];
BEGIN
    FOR target IN SELECT * FROM onemap.overviews_of(tbl) WHERE merged LOOP
        grid_boxes := CASE WHEN target.family = 'mercator'
                           THEN ARRAY(SELECT ST_Transform(b, 3857) FROM unnest(boxes) AS b)
                           ELSE boxes END;
        EXECUTE format(
            'WITH gone AS (DELETE FROM %1$s AS m USING unnest($1) AS b(box) '
            '              WHERE m.fid IS NULL AND m.geom && b.box '
            '              RETURNING m.z, %3$s AS box) '
            'INSERT INTO %1$s (z, fid, geom%2$s) '
            'SELECT DISTINCT ON (gone.z, t.fid) gone.z, t.fid, %4$s%2$s '
            'FROM gone JOIN onemap_data.%5$I AS t ON t.geom && gone.box '
            'WHERE NOT EXISTS (SELECT FROM %1$s AS o WHERE o.z = gone.z AND o.fid = t.fid)',
            target.name, onemap.overview_shared_columns(tbl, target.name),
            CASE WHEN target.family = 'mercator' THEN 'ST_Transform(ST_Envelope(m.geom), 4490)'
                 ELSE 'ST_Envelope(m.geom)' END,
            CASE WHEN target.family = 'mercator' THEN 'ST_Transform(t.geom, 3857)'
                 ELSE 't.geom' END,
            tbl)
        USING grid_boxes;
    END LOOP;
END $$;

DROP FUNCTION onemap.remerge_overviews(text, geometry);

-- One changed row's edit record from its row before and after (either NULL).
CREATE FUNCTION onemap.edit_change(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'fid', coalesce(after -> 'fid', before -> 'fid'),
        'op', CASE WHEN before IS NULL THEN 'create' WHEN after IS NULL THEN 'delete'
                   ELSE 'update' END,
        'before', CASE WHEN before IS NOT NULL THEN onemap.edit_document(before) END,
        'after', CASE WHEN after IS NOT NULL THEN onemap.edit_document(after) END)
$$;

-- A statement's changes recorded as a new version of every editable layer on the table,
-- in id order; the API records its own edits.
CREATE FUNCTION onemap.record_direct_edits(tbl text, changes jsonb, stmt text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    layer text;
BEGIN
    IF NOT onemap.is_api_edit() THEN
        FOR layer IN SELECT * FROM onemap.editable_layers_on(tbl) LOOP
            PERFORM onemap.record_direct_edit(layer, tbl, changes, stmt);
        END LOOP;
    END IF;
END $$;

-- What a statement's changes (NULL: it changed no row) do beside the table: every overview
-- patched and its merged rows under `boxes` redone, the edits recorded.
CREATE FUNCTION onemap.apply_direct_edit(tbl text, changes jsonb, boxes geometry[], stmt text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF changes IS NOT NULL THEN
        PERFORM onemap.patch_overviews(tbl, ARRAY(SELECT (c ->> 'fid')::bigint
                                                  FROM jsonb_array_elements(changes) AS c));
        PERFORM onemap.remerge_overviews(tbl, boxes);
        PERFORM onemap.record_direct_edits(tbl, changes, stmt);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION onemap.direct_edit_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    boxes geometry[];  -- the changed rows' envelopes, before and after
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(onemap.edit_change(NULL, to_jsonb(n.*))), array_agg(ST_Envelope(n.geom))
        INTO changes, boxes FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(onemap.edit_change(to_jsonb(o.*), NULL)), array_agg(ST_Envelope(o.geom))
        INTO changes, boxes FROM old_rows AS o;
    ELSE  -- an update may change a fid: rows on one side only are a delete and a create
        SELECT jsonb_agg(onemap.edit_change(to_jsonb(o.*), to_jsonb(n.*))),
               array_agg(ST_Envelope(o.geom)) || array_agg(ST_Envelope(n.geom))
        INTO changes, boxes FROM old_rows AS o FULL JOIN new_rows AS n ON n.fid = o.fid;
    END IF;
    PERFORM onemap.apply_direct_edit(TG_TABLE_NAME, changes, boxes, lower(TG_OP));
    RETURN NULL;
END $$;

-- An analyst's statement takes the write lock of the table's editable layers, the one the
-- API takes, before any row lock (0017); the API's own statements hold it already.
CREATE FUNCTION onemap.lock_editable_layers(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT onemap.is_api_edit() THEN  -- PERFORM takes every layer's lock, in id order
        PERFORM pg_advisory_xact_lock(hashtext('layer:' || id))
        FROM onemap.editable_layers_on(tbl) AS id;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION onemap.direct_edit_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM onemap.lock_editable_layers(TG_TABLE_NAME);
    RETURN NULL;
END $$;

-- TRUNCATE (0022): the rows recorded as deleted and the overviews emptied, unless the API
-- truncates (it never does; a transaction of its that did is its own).
CREATE OR REPLACE FUNCTION onemap.direct_edit_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    target record;
BEGIN
    PERFORM onemap.lock_editable_layers(TG_TABLE_NAME);
    IF NOT onemap.is_api_edit() THEN
        EXECUTE format('SELECT jsonb_agg(onemap.edit_change(to_jsonb(o.*), NULL)) '
                       'FROM %I.%I AS o', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        INTO changes;
    END IF;
    IF changes IS NOT NULL THEN  -- NULL: an empty table, or the API's truncate
        FOR target IN SELECT * FROM onemap.overviews_of(TG_TABLE_NAME) LOOP
            EXECUTE format('DELETE FROM %s', target.name);
        END LOOP;
        PERFORM onemap.record_direct_edits(TG_TABLE_NAME, changes, 'truncate');
    END IF;
    RETURN NULL;
END $$;
