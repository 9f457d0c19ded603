-- Many points snapped to their nearest network node each (KNN, as nearest_node.sql): the
-- point's 1-based position, the node, the ellipsoidal length of the leg and the node's place.
SELECT q.ord, n.id, ST_Distance(p.at::geography, n.geom::geography), ST_X(n.geom), ST_Y(n.geom)
FROM unnest(%(xs)s::float8[], %(ys)s::float8[]) WITH ORDINALITY AS q (x, y, ord)
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(q.x, q.y), %(srid)s) AS at) AS p
CROSS JOIN LATERAL (SELECT id, geom FROM {nodes} ORDER BY geom <-> p.at LIMIT 1) AS n
ORDER BY q.ord
