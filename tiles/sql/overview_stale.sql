-- Overviews of a layer's versions other than the current one (dropped after a new build).
DELETE FROM onemap.tile_overviews
WHERE layer_id = %(layer_id)s AND version <> %(version)s
RETURNING table_name
