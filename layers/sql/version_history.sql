SELECT version, created_at, feature_count, source_sha256
FROM onemap.layer_versions WHERE layer_id = %(layer)s ORDER BY version
