-- Add one flush's denied requests (caller × path kind × status × hour) to the audit log:
-- this hour's `request.denied` event of each group gets its count raised, or is written.
WITH batch AS (
    SELECT hour, kind, NULLIF(subject, '') AS subject, path_kind, status, n,
           string_to_array(NULLIF(departments, ''), ',') AS departments, addr, reason
    FROM unnest(%(hours)s::timestamptz[], %(kinds)s::text[], %(subjects)s::text[],
                %(path_kinds)s::text[], %(statuses)s::int[], %(counts)s::bigint[],
                %(departments)s::text[], %(addrs)s::text[], %(reasons)s::text[])
         AS t (hour, kind, subject, path_kind, status, n, departments, addr, reason)
),
bumped AS (
    UPDATE onemap.audit_log AS a
    SET detail = a.detail || jsonb_build_object('count', (a.detail ->> 'count')::bigint + b.n)
    FROM batch AS b
    WHERE a.operation = 'request.denied' AND a.at = b.hour AND a.actor_kind = b.kind
      AND a.actor_subject IS NOT DISTINCT FROM b.subject
      AND a.detail ->> 'pathKind' = b.path_kind AND (a.detail ->> 'status')::int = b.status
    RETURNING b.hour, b.kind, b.subject, b.path_kind, b.status
)
INSERT INTO onemap.audit_log
    (at, actor_kind, actor_subject, actor_departments, operation, client_addr, outcome, detail)
SELECT b.hour, b.kind, b.subject, COALESCE(b.departments, '{}'), 'request.denied',
       b.addr::inet, 'denied',
       jsonb_build_object('pathKind', b.path_kind, 'status', b.status, 'count', b.n,
                          'reason', b.reason)
FROM batch AS b
WHERE NOT EXISTS (
    SELECT 1 FROM bumped AS u
    WHERE u.hour = b.hour AND u.kind = b.kind AND u.subject IS NOT DISTINCT FROM b.subject
      AND u.path_kind = b.path_kind AND u.status = b.status
)
