-- One flush of a process's counted requests per caller identity and rate window, in one
-- statement (as flush_key_usage): add the increments and return the new totals together
-- with the current window's totals of the other identities this process watches.
WITH added AS (
    INSERT INTO onemap.rate_usage AS u (identity, window_start, count)
    SELECT * FROM unnest(%(identities)s::text[], %(windows)s::timestamptz[],
                         %(counts)s::bigint[])
    ON CONFLICT (identity, window_start) DO UPDATE SET count = u.count + EXCLUDED.count
    RETURNING u.identity, u.window_start, u.count
)
SELECT identity, window_start, count FROM added
UNION ALL
SELECT u.identity, u.window_start, u.count
FROM onemap.rate_usage AS u
WHERE u.window_start = %(current)s AND u.identity = ANY (%(watched)s::text[])
  AND NOT EXISTS (SELECT 1 FROM added AS a
                  WHERE a.identity = u.identity AND a.window_start = u.window_start)
