-- The first and the last version of a layer (what an error about a missing one names).
SELECT min(version), max(version) FROM onemap.layer_versions WHERE layer_id = %(layer)s
