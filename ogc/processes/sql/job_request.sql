-- The execute request of a job as received (the caller's right to see the job is checked
-- first, by job_by_id.sql).
SELECT request FROM onemap.jobs WHERE id = %(id)s
