-- The layers that have routable networks (each network table's comment names its layer).
SELECT DISTINCT obj_description(c.oid, 'pg_class') AS layer_id
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'onemap_net' AND c.relkind = 'r'
  AND obj_description(c.oid, 'pg_class') IS NOT NULL
