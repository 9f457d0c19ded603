-- A layer leaves the catalog with its versions (ON DELETE CASCADE) and tile overviews; its
-- last version is kept (next_version.sql continues from it); the layers trigger tells every
-- replica to reload. Returns the overview tables to drop. (Every CTE sees the rows as they
-- were before this statement.)
WITH retired AS (
    INSERT INTO onemap.retired_versions AS r (layer_id, last_version)
    SELECT %(layer)s, max(version) FROM onemap.layer_versions WHERE layer_id = %(layer)s
    HAVING max(version) IS NOT NULL
    ON CONFLICT (layer_id) DO UPDATE SET last_version = GREATEST(r.last_version, EXCLUDED.last_version)
), gone AS (DELETE FROM onemap.layers WHERE id = %(layer)s)
DELETE FROM onemap.tile_overviews WHERE layer_id = %(layer)s RETURNING table_name
