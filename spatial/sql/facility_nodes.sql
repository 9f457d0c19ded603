-- Each chosen facility snapped to its nearest network node (KNN per facility): the node, the
-- ellipsoidal length of the egress leg (node -> facility) and both ends of that leg.
-- {where} filters the facilities (area, CQL2) with sql.Literal values.
WITH f AS (SELECT fid, ST_PointOnSurface(geom) AS at FROM {facilities} {where})
SELECT f.fid, n.id AS node, ST_Distance(f.at::geography, n.geom::geography) AS snap_m,
       ST_X(f.at), ST_Y(f.at), ST_X(n.geom), ST_Y(n.geom)
FROM f
CROSS JOIN LATERAL (
    SELECT id, geom FROM {nodes} ORDER BY geom <-> f.at LIMIT 1
) AS n
