UPDATE onemap.jobs SET status = 'dismissed', message = 'dismissed by the client',
       finished_at = COALESCE(finished_at, now()), updated_at = now()
WHERE id = %(id)s
RETURNING id, process_id, status, message, progress, created_at, started_at, finished_at,
          updated_at, published_layer, lineage, failure_status, failure_type, parameters
