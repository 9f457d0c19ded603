-- Each facility snapped to its nearest network node (KNN per facility).
SELECT f.fid, n.id AS node, ST_Distance(f.geom::geography, n.geom::geography) AS snap_m
FROM {facilities} AS f
CROSS JOIN LATERAL (
    SELECT id, geom FROM {nodes} ORDER BY geom <-> ST_PointOnSurface(f.geom) LIMIT 1
) AS n
{where}
