-- One flush of a process's counted key requests, in one statement: add the increments
-- (one row per key × day × service), and return the new totals together with today's
-- totals of the other keys this process watches, so its next decisions use what every
-- replica has counted. (The second SELECT sees the table as before this statement, so
-- rows just added are taken from `added` only.)
WITH added AS (
    INSERT INTO onemap.api_key_usage AS u (key_id, day, service, count)
    SELECT * FROM unnest(%(keys)s::uuid[], %(days)s::date[], %(services)s::text[],
                         %(counts)s::bigint[])
    ON CONFLICT (key_id, day, service) DO UPDATE SET count = u.count + EXCLUDED.count
    RETURNING u.key_id, u.day, u.service, u.count
)
SELECT key_id, day, service, count FROM added
UNION ALL
SELECT u.key_id, u.day, u.service, u.count
FROM onemap.api_key_usage AS u
WHERE u.day = %(today)s AND u.key_id = ANY (%(watched)s::uuid[])
  AND NOT EXISTS (SELECT 1 FROM added AS a
                  WHERE a.key_id = u.key_id AND a.day = u.day AND a.service = u.service)
