-- The finest overview level of a layer: one small feature per 4×4-pixel cell of the level
-- %(level)s (lowest fid wins), every bigger feature kept, geometry moved into the grid CRS.
-- Cell keys use the grid origin as the "tile" corner, so cells nest into every tile.
INSERT INTO {overview} (z, fid, geom{names})
SELECT %(level)s, t.fid, {grid_geom}{columns}
FROM (
    SELECT min(fid) AS fid
    FROM (SELECT t.fid, {cell_key} AS cell FROM {table} AS t) AS cells
    GROUP BY cell
) AS kept
JOIN {table} AS t ON t.fid = kept.fid
