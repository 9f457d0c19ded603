-- One low-zoom tile from a layer's overview: the rows of level %(level)s are already thinned
-- to one small feature per 4×4-pixel cell of that level and already in the grid's CRS.
SELECT {aggregate}
FROM (
    SELECT o.fid,
           {mvt_geom} AS geom{columns}
    FROM {table} AS o
    WHERE o.z = %(level)s
      AND o.geom && ST_MakeEnvelope(%(bxmin)s, %(bymin)s, %(bxmax)s, %(bymax)s, {grid_srid})
    LIMIT %(limit)s
) AS tile
WHERE geom IS NOT NULL
