-- Current versions of the county layers of one theme under an admin-code prefix.
SELECT l.id, l.title_zh, l.title_en, l.department_id, l.license, l.attribution, l.access_level,
       v.version, v.table_name, v.field_schema, v.geometry_type, v.extent, v.feature_count,
       v.temporal_field, v.temporal_end_field, v.temporal_start, v.temporal_end
FROM onemap.layers AS l
JOIN onemap.layer_versions AS v ON v.layer_id = l.id AND v.version = l.current_version
WHERE l.theme = %(theme)s AND l.level = 'county' AND l.rollup_of IS NULL
  AND l.kind = 'vector' AND l.adcode LIKE %(prefix)s
ORDER BY l.adcode, l.id
