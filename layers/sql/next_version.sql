SELECT (SELECT COALESCE(max(version), 0) + 1 FROM onemap.layer_versions WHERE layer_id = %(id)s),
       EXISTS (SELECT 1 FROM onemap.layers WHERE id = %(id)s)
