-- The features under a map pixel: those within %(tolerance)s degrees (a few pixels) of the
-- point, nearest first; polygons containing the point are at distance 0. Plain RFC 7946:
-- ST_AsGeoJSON option 0, so no "crs" member for the EPSG:4490 geometries. The properties are
-- the fields the caller may read (never every column: internal fields stay out); the clip is
-- nothing, or the area-limited caller's area test.
SELECT json_build_object(
           'type', 'Feature', 'id', t.fid,
           'geometry', ST_AsGeoJSON(t.geom, 7, 0)::json,
           'properties', ({properties})::json)::text
FROM {table} AS t
WHERE ST_DWithin(t.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {srid}), %(tolerance)s){clip}
ORDER BY t.geom <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {srid}), t.fid
LIMIT %(limit)s
