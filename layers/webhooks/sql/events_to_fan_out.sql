-- Committed changes not yet given to their subscriptions, oldest first.
SELECT seq, layer_id, time, access_level, department_id
FROM onemap.change_events
WHERE NOT fanned_out
ORDER BY seq
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
