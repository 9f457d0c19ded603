-- Make a version current again with the catalog metadata it was published with.
-- Versions older than migration 0006 have no snapshot: their layer keeps its metadata.
UPDATE onemap.layers AS l SET
    (title_zh, title_en, description_zh, description_en, level, adcode, department_id,
     keywords, license, attribution, access_level, metadata, theme, rollup_of) = (
        SELECT r.title_zh, r.title_en, r.description_zh, r.description_en, r.level, r.adcode,
               r.department_id, r.keywords, r.license, r.attribution, r.access_level,
               r.metadata, r.theme, r.rollup_of
        FROM jsonb_populate_record(l, COALESCE(v.layer_meta, '{}'::jsonb)) AS r),
    current_version = v.version,
    updated_at = now()
FROM onemap.layer_versions AS v
WHERE l.id = %(layer)s AND v.layer_id = l.id AND v.version = %(version)s
RETURNING v.layer_meta IS NOT NULL
