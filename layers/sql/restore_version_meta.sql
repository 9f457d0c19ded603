-- Make a version current again with the catalog metadata it was published with.
-- Versions older than migration 0006 have no snapshot: their layer keeps its metadata.
-- Who may see the layer is the layer's, not the version's: access level, owner department
-- and internal fields stay as they are now (a rollback never reopens a closed layer).
UPDATE onemap.layers AS l SET
    (title_zh, title_en, description_zh, description_en, level, adcode,
     keywords, license, attribution, metadata, theme, rollup_of) = (
        SELECT r.title_zh, r.title_en, r.description_zh, r.description_en, r.level, r.adcode,
               r.keywords, r.license, r.attribution,
               CASE WHEN l.metadata ? 'internal_fields'
                    THEN jsonb_set(r.metadata, '{internal_fields}', l.metadata -> 'internal_fields')
                    ELSE r.metadata - 'internal_fields' END,
               r.theme, r.rollup_of
        FROM jsonb_populate_record(l, COALESCE(v.layer_meta, '{}'::jsonb)) AS r),
    current_version = v.version,
    updated_at = now()
FROM onemap.layer_versions AS v
WHERE l.id = %(layer)s AND v.layer_id = l.id AND v.version = %(version)s
RETURNING v.layer_meta IS NOT NULL
