-- Search tables of the layer just indexed for other versions or fields (dropped by the
-- caller in the same transaction).
DELETE FROM onemap.search_indexes
WHERE layer_id = %(layer_id)s AND table_name <> %(table_name)s
RETURNING table_name
