-- The theme and code of a county layer that roll-ups are built from (none for a roll-up).
SELECT theme, adcode FROM onemap.layers
WHERE id = %(layer)s AND level = 'county' AND theme IS NOT NULL AND rollup_of IS NULL
