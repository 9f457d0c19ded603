-- The reached part of every edge in each band: from each end reached within the band's
-- network budget (seconds), the fraction (budget - cost at that end) / edge cost; an edge
-- whose two fractions meet is reached whole. Cut with ST_LineSubstring in the metric CRS
-- %(metric)s (a proj string: a fraction of its length is a fraction of the geodesic one).
-- {edges} is a sql.Identifier; %(nodes)s/%(costs)s the reached nodes and their seconds.
WITH cost AS (
    SELECT node, agg_cost FROM unnest(%(nodes)s::bigint[], %(costs)s::float8[]) AS c (node, agg_cost)
), band AS (
    SELECT ord::int AS band, budget
    FROM unnest(%(budgets)s::float8[]) WITH ORDINALITY AS b (budget, ord)
), reach AS (
    SELECT band.band, e.length_m, e.geom,
           LEAST(1, GREATEST(0, COALESCE((band.budget - s.agg_cost) / e.cost, 0))) AS head,
           LEAST(1, GREATEST(0, COALESCE((band.budget - t.agg_cost) / e.cost, 0))) AS tail
    FROM {edges} AS e
    LEFT JOIN cost AS s ON s.node = e.source
    LEFT JOIN cost AS t ON t.node = e.target
    CROSS JOIN band
    WHERE e.cost > 0 AND (s.node IS NOT NULL OR t.node IS NOT NULL)
), cut AS (
    SELECT band, length_m * LEAST(1, head + tail) AS reached_m,
           CASE WHEN head + tail >= 1 THEN geom
                ELSE ST_Transform(
                    CASE WHEN tail = 0 THEN ST_LineSubstring(m, 0, head)
                         WHEN head = 0 THEN ST_LineSubstring(m, 1 - tail, 1)
                         ELSE ST_Collect(ST_LineSubstring(m, 0, head),
                                         ST_LineSubstring(m, 1 - tail, 1))
                    END, %(metric)s, %(srid)s)
           END AS piece
    FROM reach, LATERAL (SELECT ST_Transform(geom, %(metric)s) AS m) AS metric
    WHERE head > 0 OR tail > 0
)
SELECT band, SUM(reached_m), ST_AsBinary(ST_Collect(piece))
FROM cut
GROUP BY band
