-- Running jobs whose process stopped renewing their lease (killed, crashed, cut off from the
-- database; no lease: a job from before migration 0021): failed, with the reason a client
-- polling /jobs/{id} reads.
UPDATE onemap.jobs
SET status = 'failed', failure_status = 503, finished_at = now(), updated_at = now(),
    message = 'the server stopped while this job ran'
              || COALESCE(' (its process last renewed the job''s lease until '
                          || to_char(lease_until AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' UTC)', '')
              || '; submit it again'
WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now())
RETURNING id
