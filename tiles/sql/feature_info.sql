-- The features under a map pixel: those within %(tolerance)s degrees (a few pixels) of the
-- point, nearest first; polygons containing the point are at distance 0. Plain RFC 7946:
-- ST_AsGeoJSON option 0, so no "crs" member for the EPSG:4490 geometries.
SELECT json_build_object(
           'type', 'Feature', 'id', t.fid,
           'geometry', ST_AsGeoJSON(t.geom, 7, 0)::json,
           'properties', to_jsonb(t) - 'geom' - 'fid')::text
FROM {table} AS t
WHERE ST_DWithin(t.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {srid}), %(tolerance)s)
ORDER BY t.geom <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {srid}), t.fid
LIMIT %(limit)s
