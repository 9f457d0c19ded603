-- Each chosen facility snapped to its nearest network node (KNN per facility).
-- {where} filters the facilities (area, CQL2) with sql.Literal values.
WITH f AS (SELECT fid, geom FROM {facilities} {where})
SELECT f.fid, n.id AS node, ST_Distance(f.geom::geography, n.geom::geography) AS snap_m
FROM f
CROSS JOIN LATERAL (
    SELECT id, geom FROM {nodes} ORDER BY geom <-> ST_PointOnSurface(f.geom) LIMIT 1
) AS n
