-- Every layer's tiers, each feature once (its best tier), ranked: tier (exact name or
-- adcode, prefix, substring, similar), administrative units first, then similarity, code,
-- shorter names. Coordinates are the storage CRS's (CGCS2000 lon/lat, as CRS84).
WITH found AS ({parts}),
best AS (
    SELECT DISTINCT ON (layer, fid) * FROM found ORDER BY layer, fid, tier, score DESC
)
SELECT layer, fid, name, adcode, ST_X(geom), ST_Y(geom), minx, miny, maxx, maxy
FROM best
ORDER BY tier, admin DESC, score DESC, adcode, length(name), name, layer, fid
LIMIT {limit}
