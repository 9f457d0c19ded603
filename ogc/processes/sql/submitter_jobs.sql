-- A submitter's jobs that count against its quotas. Run after lock_submitter.sql in the
-- same transaction: its own statement, so that its snapshot is taken once the lock is held
-- and sees the job of the submission that held it before.
SELECT count(*) FILTER (WHERE j.status IN ('accepted', 'running')) AS open,
       count(*) FILTER (WHERE j.created_at >= %(day_start)s) AS today
FROM onemap.jobs AS j
WHERE j.submitter = %(submitter)s
  AND (j.status IN ('accepted', 'running') OR j.created_at >= %(day_start)s)
