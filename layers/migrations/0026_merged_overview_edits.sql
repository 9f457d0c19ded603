-- Edits of a polygon layer whose overview merges small polygons per cell (0025, ADR 0004):
-- patch_overviews puts each changed feature in as itself, but a merged row holding a deleted
-- or moved small polygon's pixels would keep showing them until the next publish. So after
-- the patch, at every level, the merged rows the changed rows' boxes (before and after)
-- touch are deleted, and the current features under those rows that the level does not
-- already hold are put in as themselves: no stale pixel, no hole. They may also be counted
-- in a neighbouring cell's merged row until the next build (the same area drawn twice).

CREATE OR REPLACE FUNCTION onemap.remerge_overviews(tbl text, touched geometry) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target record;
    shared text;  -- ", a, b": attribute columns of both the version table and the overview
    level int;
BEGIN
    IF touched IS NULL THEN
        RETURN;
    END IF;
    FOR target IN
        SELECT DISTINCT format('onemap_data.%I', o.table_name) AS name, o.max_level, o.family
        FROM onemap.tile_overviews AS o
        JOIN onemap.layer_versions AS v ON v.layer_id = o.layer_id AND v.version = o.version
        WHERE v.table_name = tbl AND to_regclass(format('onemap_data.%I', o.table_name)) IS NOT NULL
          AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(format('onemap_data.%I', o.table_name))
                      AND attname = '_merged' AND NOT attisdropped)
    LOOP
        SELECT coalesce(string_agg(', ' || quote_ident(d.attname), '' ORDER BY d.attnum), '')
        INTO shared
        FROM pg_attribute AS d
        JOIN pg_attribute AS ov ON ov.attrelid = to_regclass(target.name) AND ov.attname = d.attname
        WHERE d.attrelid = to_regclass(format('onemap_data.%I', tbl)) AND d.attnum > 0
          AND NOT d.attisdropped AND NOT ov.attisdropped AND d.attname NOT IN ('fid', 'geom');
        FOR level IN 0 .. target.max_level LOOP
            EXECUTE format(
                'WITH gone AS (DELETE FROM %1$s WHERE z = $2 AND fid IS NULL '
                '              AND ST_Intersects(geom, %3$s) RETURNING geom), '
                '     area AS (SELECT %4$s AS g FROM (SELECT ST_Union(geom) AS u FROM gone) AS s '
                '              WHERE u IS NOT NULL) '
                'INSERT INTO %1$s (z, fid, geom%2$s) '
                'SELECT $2, t.fid, %5$s%2$s FROM onemap_data.%6$I AS t, area '
                'WHERE ST_Intersects(t.geom, area.g) '
                '  AND NOT EXISTS (SELECT FROM %1$s AS o WHERE o.z = $2 AND o.fid = t.fid)',
                target.name, shared,
                CASE WHEN target.family = 'mercator' THEN 'ST_Transform($1, 3857)' ELSE '$1' END,
                CASE WHEN target.family = 'mercator' THEN 'ST_Transform(u, 4490)' ELSE 'u' END,
                CASE WHEN target.family = 'mercator' THEN 'ST_Transform(t.geom, 3857)' ELSE 't.geom' END,
                tbl)
            USING touched, level;
        END LOOP;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION onemap.direct_edit_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    layer text;
    touched geometry;  -- the changed rows' boxes, before and after
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_object('fid', n.fid, 'op', 'create', 'before', NULL,
                         'after', onemap.edit_document(to_jsonb(n))))
        INTO changes FROM new_rows AS n;
        SELECT ST_Collect(ST_Envelope(geom)) INTO touched FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(jsonb_build_object('fid', o.fid, 'op', 'delete',
                         'before', onemap.edit_document(to_jsonb(o)), 'after', NULL))
        INTO changes FROM old_rows AS o;
        SELECT ST_Collect(ST_Envelope(geom)) INTO touched FROM old_rows;
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
        SELECT ST_Collect(ST_Envelope(geom)) INTO touched
        FROM (SELECT geom FROM old_rows UNION ALL SELECT geom FROM new_rows) AS both_sides;
    END IF;
    IF changes IS NULL THEN
        RETURN NULL;  -- the statement changed no row
    END IF;
    PERFORM onemap.patch_overviews(TG_TABLE_NAME,
        ARRAY(SELECT (c ->> 'fid')::bigint FROM jsonb_array_elements(changes) AS c));
    PERFORM onemap.remerge_overviews(TG_TABLE_NAME, touched);
    IF NOT onemap.is_api_edit() THEN
        FOR layer IN SELECT * FROM onemap.editable_layers_on(TG_TABLE_NAME) LOOP
            PERFORM onemap.record_direct_edit(layer, TG_TABLE_NAME, changes, lower(TG_OP));
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
