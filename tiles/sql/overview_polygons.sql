-- One overview level of a polygon layer, from its features in the grid's CRS
-- (overview_polygons_members.sql). Features at least one 4×4-pixel cell of level
-- %(level)s big are kept as they are; the smaller ones, which thinning would reduce to one
-- per cell, are merged per cell (the cell of their bbox centre) into the level's pixels
-- whose sample points (4 × 4 per pixel) they cover, with how many they are (_merged) and
-- the attributes of the largest of them: the tile fills the pixels a rendering of the data
-- fills. A cell none of whose
-- sample points is covered keeps the pixel of its largest member's centre (small features
-- never vanish). Pixels are unioned in integer pixel coordinates (exact), then placed on
-- the grid; tiles draw them unsimplified. Merged rows have no fid.
WITH members AS MATERIALIZED (
    SELECT m.*, {cell} AS cell
    FROM pg_temp.onemap_merge_members AS m
    WHERE m.x1 - m.x0 < %(cell)s AND m.y1 - m.y0 < %(cell)s
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
                -- 0.1 px: drops the union's collinear vertices, never a pixel corner
                ELSE ST_Simplify(ST_UnaryUnion(ST_Collect(box)), 0.1) END AS pixels
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
SELECT %(level)s, t.fid, NULL, m.geom{columns}
FROM pg_temp.onemap_merge_members AS m
JOIN {table} AS t ON t.fid = m.fid
WHERE NOT (m.x1 - m.x0 < %(cell)s AND m.y1 - m.y0 < %(cell)s)
UNION ALL
SELECT %(level)s, NULL, largest.n,
       ST_SetSRID(ST_Affine(
           coalesce(merged.pixels, ST_MakeEnvelope(cx, cy, cx + 1, cy + 1)),
           %(pixel)s, 0, 0, -%(pixel)s, %(xmin)s, %(ymax)s), {grid_srid}){columns}
FROM largest
LEFT JOIN merged USING (cell)
JOIN {table} AS t ON t.fid = largest.fid
