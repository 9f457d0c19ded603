-- The whole catalog in one query: each published layer with its current version.
SELECT l.id, l.kind, l.title_zh, l.title_en, l.description_zh, l.description_en,
       l.level, l.adcode, l.department_id, d.name_zh AS department_name, l.keywords,
       l.license, l.attribution, l.access_level, l.metadata, l.theme, l.rollup_of, l.editable, l.edit_rules,
       v.version, v.table_name, v.storage_srid, v.geometry_type, v.extent,
       v.temporal_start, v.temporal_end, v.temporal_field, v.temporal_end_field,
       v.field_schema,
       v.feature_count, v.asset_path, v.created_at AS version_created_at,
       (SELECT min(t.version) FROM onemap.layer_versions AS t
        WHERE t.layer_id = l.id AND t.table_name = v.table_name) AS table_version
FROM onemap.layers AS l
JOIN onemap.layer_versions AS v ON v.layer_id = l.id AND v.version = l.current_version
LEFT JOIN onemap.departments AS d ON d.id = l.department_id
ORDER BY l.level = 'county', l.level = 'city', l.id
