DELETE FROM onemap.job_results WHERE job_id = %(id)s
