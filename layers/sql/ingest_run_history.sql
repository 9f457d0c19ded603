SELECT started_at, status, version, source_name, features_in, features_out, who,
       coalesce(error, '')
FROM onemap.ingest_runs WHERE layer_id = %(layer)s ORDER BY id
