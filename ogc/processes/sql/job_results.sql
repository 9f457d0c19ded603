SELECT output_id, media_type, body FROM onemap.job_results WHERE job_id = %(id)s
ORDER BY output_id
