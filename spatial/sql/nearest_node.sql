-- The network node nearest to a point (KNN), with its ellipsoidal distance in metres.
SELECT id, ST_Distance(geom::geography, pt::geography) AS distance_m, ST_X(geom), ST_Y(geom)
FROM {nodes}, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), %(srid)s) AS pt) AS q
ORDER BY geom <-> pt
LIMIT 1
