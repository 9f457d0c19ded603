-- A layer about to be deleted, locked: its current version, the theme it is a roll-up of
-- (if it is one), and its level and code (which members such a roll-up gathers).
SELECT current_version, rollup_of, level, adcode
FROM onemap.layers WHERE id = %(layer)s FOR UPDATE
