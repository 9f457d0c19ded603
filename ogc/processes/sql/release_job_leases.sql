-- A server stopping in order gives up the leases of the jobs it had queued but not begun.
UPDATE onemap.jobs SET lease_until = now()
WHERE id = ANY(%(ids)s::uuid[]) AND status = 'accepted'
