-- A submitter's jobs that count against its quotas, taken under a transaction-level
-- advisory lock on the submitter so that concurrent submissions (on any replica) queue
-- here and the last free slot goes to one of them only.
WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended(%(submitter)s, 20)))
SELECT count(*) FILTER (WHERE j.status IN ('accepted', 'running')) AS open,
       count(*) FILTER (WHERE j.created_at >= %(day_start)s) AS today
FROM locked, onemap.jobs AS j
WHERE j.submitter = %(submitter)s
  AND (j.status IN ('accepted', 'running') OR j.created_at >= %(day_start)s)
