INSERT INTO onemap.ingest_runs (
    layer_id, version, status, source_name, source_size, source_sha256, detected,
    features_in, features_out, repairs, warnings, error, who, started_at, duration_s
) VALUES (
    %(layer_id)s, %(version)s, %(status)s, %(source_name)s, %(source_size)s, %(source_sha256)s,
    %(detected)s, %(features_in)s, %(features_out)s, %(repairs)s, %(warnings)s, %(error)s,
    %(who)s, %(started_at)s, %(duration_s)s
)
