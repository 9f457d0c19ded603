-- Overviews of polygon layers merge the small polygons of each cell (ADR 0004, "Low-zoom
-- polygon tiles"): overview tables gain a `_merged` column (how many features a merged row
-- stands for; NULL on a feature kept as it is), which is no column of the version table.
-- Edits patch overviews with the changed features themselves, so the patch now copies the
-- attribute columns the version table and the overview share (leaving _merged NULL). Overviews built before are dropped: the app builds
-- them again, in the new form, when it starts (as after a publish).

CREATE OR REPLACE FUNCTION onemap.patch_overviews(tbl text, fids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target record;
    shared text;  -- ", a, b": attribute columns of both the version table and the overview
BEGIN
    FOR target IN
        SELECT DISTINCT format('onemap_data.%I', o.table_name) AS name, o.max_level,
               CASE WHEN o.family = 'mercator' THEN 'ST_Transform(t.geom, 3857)' ELSE 't.geom' END AS grid_geom
        FROM onemap.tile_overviews AS o
        JOIN onemap.layer_versions AS v ON v.layer_id = o.layer_id AND v.version = o.version
        WHERE v.table_name = tbl AND to_regclass(format('onemap_data.%I', o.table_name)) IS NOT NULL
    LOOP
        SELECT coalesce(string_agg(', ' || quote_ident(d.attname), '' ORDER BY d.attnum), '')
        INTO shared
        FROM pg_attribute AS d
        JOIN pg_attribute AS ov ON ov.attrelid = to_regclass(target.name) AND ov.attname = d.attname
        WHERE d.attrelid = to_regclass(format('onemap_data.%I', tbl)) AND d.attnum > 0
          AND NOT d.attisdropped AND NOT ov.attisdropped AND d.attname NOT IN ('fid', 'geom');
        EXECUTE format('DELETE FROM %s WHERE fid = ANY($1)', target.name) USING fids;
        EXECUTE format('INSERT INTO %1$s (z, fid, geom%2$s) SELECT z, fid, %3$s%2$s '
                       'FROM onemap_data.%4$I AS t, generate_series(0, %5$s) AS z '
                       'WHERE fid = ANY($1)',
                       target.name, shared, target.grid_geom, tbl, target.max_level)
        USING fids;
    END LOOP;
END $$;

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT table_name FROM onemap.tile_overviews LOOP
        EXECUTE format('DROP TABLE IF EXISTS onemap_data.%I', name);
    END LOOP;
    DELETE FROM onemap.tile_overviews;
END $$;
