-- Jobs finished (successful, failed, dismissed) longer ago than the retention; their
-- results go with them (ON DELETE CASCADE). A published layer is only named by its job,
-- so it stays.
DELETE FROM onemap.jobs
WHERE status IN ('successful', 'failed', 'dismissed')
  AND coalesce(finished_at, updated_at) < now() - make_interval(secs => %(older_than_s)s)
