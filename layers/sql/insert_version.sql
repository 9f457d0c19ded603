INSERT INTO onemap.layer_versions (
    layer_id, version, table_name, storage_srid, geometry_type, extent,
    temporal_start, temporal_end, temporal_field, temporal_end_field, field_schema, feature_count,
    source_sha256, lineage, created_by, asset_path, source_fingerprint
) VALUES (
    %(layer_id)s, %(version)s, %(table_name)s, %(storage_srid)s, %(geometry_type)s, %(extent)s,
    %(temporal_start)s, %(temporal_end)s, %(temporal_field)s, %(temporal_end_field)s,
    %(field_schema)s, %(feature_count)s,
    %(source_sha256)s, %(lineage)s, %(created_by)s, %(asset_path)s,
    %(source_fingerprint)s
)
