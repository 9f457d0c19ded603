-- Overviews of polygon layers merge the small polygons of each cell (ADR 0004, "Low-zoom
-- polygon tiles"): overview tables gain a `_merged` column (how many features a merged row
-- stands for; NULL on a feature kept as it is), which is no column of the version table.
-- Edits patch overviews with the changed features themselves, so the patch copies every
-- column but z, fid, geom and _merged. Overviews built before are dropped: the app builds
-- them again, in the new form, when it starts (as after a publish).

CREATE OR REPLACE FUNCTION onemap.patch_overviews(tbl text, fids bigint[]) RETURNS void
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
          AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attname NOT IN ('z', 'fid', 'geom', '_merged');
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

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT table_name FROM onemap.tile_overviews LOOP
        EXECUTE format('DROP TABLE IF EXISTS onemap_data.%I', name);
    END LOOP;
    DELETE FROM onemap.tile_overviews;
END $$;
