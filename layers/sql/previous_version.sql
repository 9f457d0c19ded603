SELECT max(version) FROM onemap.layer_versions WHERE layer_id = %(layer)s AND version < %(version)s
