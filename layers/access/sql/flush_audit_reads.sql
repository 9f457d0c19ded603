-- Add one flush's restricted-layer reads (caller × layer × hour) in one statement.
INSERT INTO onemap.audit_reads AS r
    (hour, actor_kind, actor_subject, layer_id, actor_departments, count)
SELECT hour, kind, subject, layer, string_to_array(departments, ','), n
FROM unnest(%(hours)s::timestamptz[], %(kinds)s::text[], %(subjects)s::text[],
            %(layers)s::text[], %(departments)s::text[], %(counts)s::bigint[])
     AS t (hour, kind, subject, layer, departments, n)
ON CONFLICT (hour, actor_kind, actor_subject, layer_id)
DO UPDATE SET count = r.count + EXCLUDED.count, actor_departments = EXCLUDED.actor_departments
