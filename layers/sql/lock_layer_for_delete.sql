-- A layer about to be deleted, locked: its current version, whether it is a roll-up, and
-- whether roll-ups are built from it (a county layer of a theme that has roll-up layers).
SELECT l.current_version, l.rollup_of IS NOT NULL AS is_rollup,
       l.level = 'county' AND l.theme IS NOT NULL AND l.rollup_of IS NULL
       AND EXISTS (SELECT 1 FROM onemap.layers AS r WHERE r.rollup_of = l.theme) AS rolled_up
FROM onemap.layers AS l WHERE l.id = %(layer)s FOR UPDATE
