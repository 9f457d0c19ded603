-- One overview level of a polygon layer, from its version table. Features at least one
-- 4×4-pixel cell of level %(level)s big are kept as they are; the smaller ones, which
-- thinning would reduce to one per cell, are merged per cell (the cell of their bbox
-- centre) into the union of the level's pixels their bboxes touch, with how many they are
-- (_merged) and the attributes of the largest of them: an area the polygons cover stays
-- covered at every level. Pixel boxes are unioned in integer pixel coordinates (exact,
-- duplicates first removed), then placed on the grid; merged rows have no fid.
WITH members AS MATERIALIZED (
    SELECT t.fid, {cell_key} AS cell, ST_Area(t.geom) AS area,
           {ix0} AS ix0, {iy0} AS iy0, {ix1} AS ix1, {iy1} AS iy1
    FROM {table} AS t
    WHERE {small}
), merged AS (
    SELECT cell, ST_Union(ST_MakeEnvelope(ix0, iy0, ix1, iy1)) AS pixels
    FROM (SELECT DISTINCT cell, ix0, iy0, ix1, iy1 FROM members) AS boxes
    GROUP BY cell
), largest AS (
    SELECT cell, count(*) AS n, (array_agg(fid ORDER BY area DESC, fid))[1] AS fid
    FROM members
    GROUP BY cell
)
INSERT INTO {overview} (z, fid, _merged, geom{names})
SELECT %(level)s, t.fid, NULL, {grid_geom}{columns}
FROM {table} AS t
WHERE NOT {small}
UNION ALL
SELECT %(level)s, NULL, largest.n,
       ST_SetSRID(ST_Affine(merged.pixels, %(pixel)s, 0, 0, -%(pixel)s, %(xmin)s, %(ymax)s),
                  {grid_srid}){columns}
FROM merged
JOIN largest USING (cell)
JOIN {table} AS t ON t.fid = largest.fid
