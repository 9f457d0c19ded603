-- The features of a polygon layer in the grid's CRS with their grid bbox (the grid's own
-- formulas on the stored lon/lat, as thinning measures them) and area, once per overview
-- build: every level of tiles/sql/overview_polygons.sql reads these instead of
-- transforming the version table again.
CREATE TEMPORARY TABLE onemap_merge_members ON COMMIT DROP AS
SELECT t.fid, {grid_geom} AS geom, ST_Area(t.geom) AS area,
       {x0} AS x0, {x1} AS x1, {y0} AS y0, {y1} AS y1
FROM {table} AS t
