-- A layer about to be deleted, locked: its current version, the theme it is a roll-up of
-- (if it is one), and its level, code and theme (a county layer with a theme is a member
-- of the roll-ups above it).
SELECT current_version, rollup_of, level, adcode, theme
FROM onemap.layers WHERE id = %(layer)s FOR UPDATE
