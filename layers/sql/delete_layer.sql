-- A layer leaves the catalog with its versions (ON DELETE CASCADE) and tile overviews;
-- the layers trigger tells every replica to reload. Returns the overview tables to drop.
WITH gone AS (DELETE FROM onemap.layers WHERE id = %(layer)s)
DELETE FROM onemap.tile_overviews WHERE layer_id = %(layer)s RETURNING table_name
