-- The roll-ups with a version that reads a layer's tables (their lineage names it), cities
-- before the province.
SELECT DISTINCT l.id, l.rollup_of, l.level, l.adcode, l.level = 'province' AS province
FROM onemap.layers AS l JOIN onemap.layer_versions AS v ON v.layer_id = l.id
WHERE l.rollup_of IS NOT NULL
  AND v.lineage -> 'members' @> jsonb_build_array(jsonb_build_object('id', %(member)s::text))
ORDER BY province, l.id
