-- The next version of a layer: after its newest, or after the last one of a deleted layer
-- of the same id (delete_layer.sql), so (id, version) never names two different data.
SELECT GREATEST(
           (SELECT COALESCE(max(version), 0) FROM onemap.layer_versions WHERE layer_id = %(id)s),
           (SELECT COALESCE(max(last_version), 0) FROM onemap.retired_versions WHERE layer_id = %(id)s)
       ) + 1,
       EXISTS (SELECT 1 FROM onemap.layers WHERE id = %(id)s)
