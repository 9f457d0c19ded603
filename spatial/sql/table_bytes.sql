-- The stored size (heap + TOAST, no indexes) of a layer's table as the planner knows it
-- (relpages, current after ingest's ANALYZE and autovacuum); 0 when it is gone. Read from
-- pg_class, not pg_table_size(): that takes a lock on the table, so an estimate made before
-- any work would wait behind a writer holding the table (a swap, a TRUNCATE) for the whole
-- statement timeout.
SELECT coalesce((
    SELECT (c.relpages + coalesce(t.relpages, 0))::bigint * current_setting('block_size')::bigint
    FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
    WHERE c.oid = to_regclass(format('%%I.%%I', %(schema)s::text, %(table)s::text))
), 0)
