SELECT current_version FROM onemap.layers WHERE id = %(layer)s
