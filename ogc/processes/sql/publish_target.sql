-- The layer a result is published to, if it exists: its metadata (origin, owner), owning
-- department and access level, read again when the job publishes.
SELECT metadata, department_id, access_level FROM onemap.layers WHERE id = %s
