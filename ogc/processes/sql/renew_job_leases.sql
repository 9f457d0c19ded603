-- The heartbeat of one server process: the jobs it queued or runs stay its own.
UPDATE onemap.jobs SET lease_holder = %(holder)s, lease_until = now() + make_interval(secs => %(lease_s)s)
WHERE id = ANY(%(ids)s::uuid[]) AND status IN ('accepted', 'running')
