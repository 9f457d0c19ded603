-- Whether a relation of the data schema is a view (a roll-up's version) rather than a table.
SELECT c.relkind = 'v' FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'onemap_data' AND c.relname = %(name)s
