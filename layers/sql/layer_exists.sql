-- Whether a layer is in the catalog.
SELECT EXISTS (SELECT 1 FROM onemap.layers WHERE id = %(layer)s)
