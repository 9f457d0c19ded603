-- A new job, owned by the caller who submitted it (migration 0010), counted against its
-- submitter's job quota (migration 0020) and leased by the server process that will run it
-- (migration 0021).
INSERT INTO onemap.jobs (id, process_id, request, owner_kind, owner_subject,
                         owner_departments, owner_roles, owner_areas, submitter,
                         lease_holder, lease_until)
VALUES (%(id)s, %(process_id)s, %(request)s, %(owner_kind)s, %(owner_subject)s,
        %(owner_departments)s, %(owner_roles)s, %(owner_areas)s, %(submitter)s,
        %(lease_holder)s, now() + make_interval(secs => %(lease_s)s))
RETURNING id, process_id, status, message, progress, created_at, started_at, finished_at,
          updated_at, published_layer, lineage, failure_status, failure_type, parameters
