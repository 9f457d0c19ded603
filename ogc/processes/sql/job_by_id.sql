-- One job, if the caller may see it: theirs (or every job, for admins; an anonymous job
-- for whoever holds its id — layers.access.rules.jobs_of), and naming no layer hidden from
-- them in its request (every "collection" member), lineage or published layer.
SELECT id, process_id, status, message, progress, created_at, started_at, finished_at,
       updated_at, published_layer, lineage, failure_status, failure_type, parameters
FROM onemap.jobs AS j
WHERE id = %(id)s
  AND (%(every_owner)s OR (j.owner_kind = %(owner_kind)s
                           AND j.owner_subject IS NOT DISTINCT FROM %(owner_subject)s))
  AND NOT (ARRAY(
      SELECT ref #>> '{}' FROM jsonb_path_query(j.request, 'lax $.**.collection') AS ref
      UNION ALL
      SELECT ref #>> '{}' FROM jsonb_path_query(j.lineage, 'lax $[*].layer') AS ref
  ) || j.published_layer) && %(hidden)s::text[]
