-- The stored size (heap + TOAST, no indexes) of a layer's table; 0 when it is gone.
SELECT coalesce(pg_table_size(to_regclass(format('%%I.%%I', %(schema)s::text, %(table)s::text))), 0)
