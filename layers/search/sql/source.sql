-- The rows place-name search reads from one layer version: what a search table holds
-- (layers.search.index builds it from this), and what is read from the version table
-- itself until that table is built. {field} is the searched text field, {adcode} the code
-- column of an administrative layer (else NULL); geom is the representative point.
SELECT t.fid,
       t.{field}::text AS name,
       onemap.search_key(t.{field}::text) AS key,
       {adcode}::text AS adcode,
       ST_PointOnSurface(t.geom) AS geom,
       ST_XMin(t.geom) AS minx, ST_YMin(t.geom) AS miny,
       ST_XMax(t.geom) AS maxx, ST_YMax(t.geom) AS maxy
FROM {table} AS t
WHERE t.geom IS NOT NULL AND NOT ST_IsEmpty(t.geom)
  AND onemap.search_key(t.{field}::text) <> ''
