-- Audit events for admins, newest first; every filter is optional (NULL = any).
SELECT id, at, actor_kind, actor_subject, actor_departments, operation, layer_id, version,
       request_id, host(client_addr) AS client_addr, outcome, detail
FROM onemap.audit_log
WHERE (%(since)s::timestamptz IS NULL OR at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
  AND (%(actor)s::text IS NULL OR actor_subject = %(actor)s)
  AND (%(layer)s::text IS NULL OR layer_id = %(layer)s)
  AND (%(operation)s::text IS NULL OR operation = %(operation)s)
  AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)
ORDER BY at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s
