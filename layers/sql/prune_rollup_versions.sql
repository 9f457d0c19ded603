-- Older versions of roll-ups that read a member's tables (their lineage names it) leave
-- with that member: their views cannot outlive the tables they read. Removes
-- their catalog rows and tile overviews; returns the views and overview tables to drop.
WITH gone AS (
    DELETE FROM onemap.layer_versions AS v USING onemap.layers AS l
    WHERE l.id = v.layer_id AND l.rollup_of IS NOT NULL AND v.version <> l.current_version
      AND v.lineage -> 'members' @> jsonb_build_array(jsonb_build_object('id', %(member)s::text))
    RETURNING v.layer_id, v.version, v.table_name
), overviews AS (
    DELETE FROM onemap.tile_overviews AS o USING gone
    WHERE o.layer_id = gone.layer_id AND o.version = gone.version
    RETURNING o.table_name
)
SELECT table_name, true AS is_view FROM gone
UNION ALL SELECT table_name, false FROM overviews
