-- Network tables built for older versions of a layer (same comment, another version key:
-- the 12 characters after 'edges_' / 'nodes_'). Networks of other speed fields stay.
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'onemap_net' AND c.relkind = 'r'
  AND obj_description(c.oid, 'pg_class') = %(layer)s
  AND substr(c.relname, 7, 12) <> %(version_key)s
