-- One audit event (layers/access/audit.py); `at` defaults to the database's now().
INSERT INTO onemap.audit_log
    (at, actor_kind, actor_subject, actor_departments, operation, layer_id, version,
     request_id, client_addr, outcome, detail)
VALUES
    (COALESCE(%(at)s, now()), %(actor_kind)s, %(actor_subject)s, %(actor_departments)s,
     %(operation)s, %(layer_id)s, %(version)s, %(request_id)s, %(client_addr)s::inet,
     %(outcome)s, %(detail)s)
