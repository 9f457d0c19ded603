-- Network tables built for older versions of a layer (same comment, other name).
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'onemap_net' AND c.relkind = 'r'
  AND obj_description(c.oid, 'pg_class') = %(layer)s
  AND c.relname NOT IN (%(edges)s, %(nodes)s)
