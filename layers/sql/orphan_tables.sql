-- Tables of the data schema no catalog version and no tile overview (tiles' derived tables)
-- refers to (%(only)s: just that one, when it is such a table). Uncommitted tables of an
-- ingest in progress are invisible here.
SELECT c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind = 'r'
  AND c.relname NOT IN (SELECT table_name FROM onemap.layer_versions)
  AND c.relname NOT IN (SELECT table_name FROM onemap.tile_overviews)
  AND (%(only)s::text IS NULL OR c.relname = %(only)s)
