-- The current version of a layer if it was published from a source with this fingerprint.
SELECT v.version
FROM onemap.layers l
JOIN onemap.layer_versions v ON v.layer_id = l.id AND v.version = l.current_version
WHERE l.id = %(layer)s AND v.source_fingerprint = %(fingerprint)s
