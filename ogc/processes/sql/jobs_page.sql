-- A page of the jobs a caller may list, newest first: as job_by_id.sql, and never the
-- jobs of anonymous callers to anyone but admins (their ids are their only key).
SELECT id, process_id, status, message, progress, created_at, started_at, finished_at,
       updated_at, published_layer, lineage, failure_status, failure_type, parameters
FROM onemap.jobs AS j
WHERE %(listable)s
  AND (%(every_owner)s OR (j.owner_kind = %(owner_kind)s
                           AND j.owner_subject IS NOT DISTINCT FROM %(owner_subject)s))
  AND NOT (ARRAY(
      SELECT ref #>> '{}' FROM jsonb_path_query(j.request, 'lax $.**.collection') AS ref
      UNION ALL
      SELECT ref #>> '{}' FROM jsonb_path_query(j.lineage, 'lax $[*].layer') AS ref
  ) || j.published_layer) && %(hidden)s::text[]
ORDER BY created_at DESC
LIMIT %(limit)s OFFSET %(offset)s
