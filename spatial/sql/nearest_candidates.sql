-- The n features nearest to a point by the KNN index (planar degrees), each with its
-- ellipsoidal distance in metres; the caller re-ranks by the ellipsoidal distance and
-- widens n until the degree-space bound proves the top k are the true top k.
-- Names are sql.Identifier, values sql.Literal (so a CQL2 filter's literals can join in).
SELECT fid, {columns} ST_AsBinary(geom) AS wkb,
       ST_Distance(geom::geography, pt::geography, true) AS distance_m,
       geom <-> pt AS distance_deg
FROM {table}, (SELECT ST_SetSRID(ST_MakePoint({lon}, {lat}), {srid}) AS pt) AS q
{where}
ORDER BY geom <-> pt
LIMIT {n}
