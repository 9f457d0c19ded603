-- Search tables no longer needed: other versions or fields of the layer just indexed, and
-- those of layers that left the catalog. Dropped by the caller in the same transaction.
DELETE FROM onemap.search_indexes
WHERE (layer_id = %(layer_id)s AND table_name <> %(table_name)s)
   OR layer_id NOT IN (SELECT id FROM onemap.layers)
RETURNING table_name
