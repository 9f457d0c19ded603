INSERT INTO onemap.tile_overviews (table_name, layer_id, version, family, max_level, row_count)
VALUES (%(table_name)s, %(layer_id)s, %(version)s, %(family)s, %(max_level)s, %(row_count)s)
ON CONFLICT (table_name) DO NOTHING
