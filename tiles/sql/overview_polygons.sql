-- One overview level of a polygon layer, from its version table. Features at least one
-- 4×4-pixel cell of level %(level)s big are kept as they are; the smaller ones, which
-- thinning would reduce to one per cell, are merged per cell (the cell of their bbox
-- centre) into the level's pixels whose sample points (4 × 4 per
-- pixel) they cover, with how many they are (_merged) and the attributes of the largest
-- of them: the tile fills the pixels a rendering of the data fills. A cell none of whose
-- sample points is covered keeps the pixel of its largest member's centre (small features
-- never vanish). Pixels are unioned in integer pixel coordinates (exact), then placed on
-- the grid; only the small features are transformed (to be tested). Merged rows have no fid.
WITH members AS MATERIALIZED (
    SELECT t.fid, {grid_geom} AS geom, {cell_key} AS cell, ST_Area(t.geom) AS area,
           {x0} AS x0, {x1} AS x1, {y0} AS y0, {y1} AS y1
    FROM {table} AS t
    WHERE {small}
), hits AS (
    SELECT DISTINCT m.cell, px, py
    FROM members AS m,
         generate_series(floor((m.x0 - %(xmin)s) / %(pixel)s)::bigint,
                         ceil((m.x1 - %(xmin)s) / %(pixel)s)::bigint - 1) AS px,
         generate_series(floor((%(ymax)s - m.y1) / %(pixel)s)::bigint,
                         ceil((%(ymax)s - m.y0) / %(pixel)s)::bigint - 1) AS py
    WHERE ST_Intersects(m.geom, ST_SetSRID(ST_Affine({samples}, %(pixel)s, 0, 0, -%(pixel)s,
              %(xmin)s + px * %(pixel)s, %(ymax)s - py * %(pixel)s), {grid_srid}))
), runs AS (  -- a cell's hit pixels as horizontal runs: fewer boxes to union
    SELECT cell, py, min(px) AS px0, max(px) + 1 AS px1
    FROM (SELECT cell, px, py, px - row_number() OVER (PARTITION BY cell, py ORDER BY px) AS run
          FROM hits) AS h
    GROUP BY cell, py, run
), merged AS (
    SELECT cell,
           CASE WHEN count(*) = 1 THEN ST_GeometryN(ST_Collect(box), 1)
                ELSE ST_UnaryUnion(ST_Collect(box)) END AS pixels
    FROM (SELECT cell, ST_MakeEnvelope(px0, py, px1, py + 1) AS box FROM runs) AS r
    GROUP BY cell
), largest AS (
    SELECT DISTINCT ON (cell) cell, count(*) OVER (PARTITION BY cell) AS n, fid,
           floor(((x0 + x1) / 2 - %(xmin)s) / %(pixel)s) AS cx,
           floor((%(ymax)s - (y0 + y1) / 2) / %(pixel)s) AS cy
    FROM members
    ORDER BY cell, area DESC, fid
)
INSERT INTO {overview} (z, fid, _merged, geom{names})
SELECT %(level)s, t.fid, NULL, {grid_geom}{columns}
FROM {table} AS t
WHERE NOT {small}
UNION ALL
SELECT %(level)s, NULL, largest.n,
       ST_SetSRID(ST_Affine(
           coalesce(merged.pixels, ST_MakeEnvelope(cx, cy, cx + 1, cy + 1)),
           %(pixel)s, 0, 0, -%(pixel)s, %(xmin)s, %(ymax)s), {grid_srid}){columns}
FROM largest
LEFT JOIN merged USING (cell)
JOIN {table} AS t ON t.fid = largest.fid
