-- Waiting jobs whose process is gone, taken over by this one (which then queues them); a
-- job another reaper took first no longer matches once its row lock is released.
UPDATE onemap.jobs SET lease_holder = %(holder)s, lease_until = now() + make_interval(secs => %(lease_s)s)
WHERE status = 'accepted' AND (lease_until IS NULL OR lease_until < now())
  AND process_id = ANY(%(processes)s)
RETURNING id, process_id
