-- The union of the administrative units an area-limited caller is limited to, as EWKB in the
-- storage CRS; an empty geometry (which intersects nothing) when no unit matches. The
-- selections are one "SELECT geom FROM <admin table> WHERE adcode LIKE <pattern>" per prefix.
SELECT ST_AsEWKB(COALESCE(ST_Union(geom), ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, {srid})))
FROM ({selections}) AS units
