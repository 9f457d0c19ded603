SELECT table_name FROM onemap.layer_versions WHERE layer_id = %(layer)s AND version = %(version)s
