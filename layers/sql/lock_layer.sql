-- The layer's current version and kind, locked while a rollback changes it.
SELECT current_version, kind FROM onemap.layers WHERE id = %(layer)s FOR UPDATE
