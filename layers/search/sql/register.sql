INSERT INTO onemap.search_indexes (table_name, layer_id, version, field, row_count)
VALUES (%(table_name)s, %(layer_id)s, %(version)s, %(field)s, %(row_count)s)
ON CONFLICT (table_name) DO NOTHING
