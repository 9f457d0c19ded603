-- Search tables of layers that left the catalog (dropped by the caller, same transaction).
DELETE FROM onemap.search_indexes
WHERE layer_id NOT IN (SELECT id FROM onemap.layers)
RETURNING table_name
