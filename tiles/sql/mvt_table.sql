-- One tile of one layer from its version table. Placeholders in braces are filled once per
-- layer and grid (names quoted, expressions composed); the named parameters are bound per request.
-- "kept" thins the tile: every feature smaller than a 4×4-pixel cell competes for its cell and
-- the lowest fid wins, so every cell that holds data keeps exactly one feature; features larger
-- than a cell are all kept (they are visible at this zoom). Only the survivors are transformed,
-- simplified and clipped. The clip is nothing, or an area-limited caller's area test: only the
-- features intersecting their areas compete (whole geometries: the rule of their items).
WITH kept AS (
    SELECT min(fid) AS fid
    FROM (
        SELECT t.fid, {cell_key} AS cell
        FROM {table} AS t
        WHERE t.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, {storage_srid}){clip}
    ) AS inside
    GROUP BY cell
    LIMIT %(limit)s
)
SELECT {aggregate}
FROM (
    SELECT t.fid,
           {mvt_geom} AS geom{columns}
    FROM kept JOIN {table} AS t ON t.fid = kept.fid
) AS tile
WHERE geom IS NOT NULL
