-- A worker takes an accepted job; the job runs as the owner it recorded (migration 0010).
UPDATE onemap.jobs SET status = 'running', started_at = now(), updated_at = now()
WHERE id = %s AND status = 'accepted'
RETURNING request, owner_kind, owner_subject, owner_departments, owner_roles, owner_areas
