-- One polygon per time band: the concave hull of the edges whose both ends are reached
-- within the band (nodes come from pgr_drivingDistance, bound as two arrays).
WITH reached AS (
    SELECT unnest(%(nodes)s::bigint[]) AS node, unnest(%(costs)s::float8[]) AS agg_cost
), bands AS (
    SELECT unnest(%(bands)s::float8[]) AS band_s
)
SELECT b.band_s,
       ST_AsBinary(ST_ConcaveHull(ST_Collect(e.geom), 0.3)) AS wkb,
       count(e.id) AS edges
FROM bands AS b
JOIN {edges} AS e ON true
JOIN reached AS rs ON rs.node = e.source AND rs.agg_cost <= b.band_s
JOIN reached AS rt ON rt.node = e.target AND rt.agg_cost <= b.band_s
GROUP BY b.band_s
ORDER BY b.band_s
