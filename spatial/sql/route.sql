-- The shortest route between two nodes as one line, with its time and length.
SELECT ST_AsBinary(ST_LineMerge(ST_Collect(e.geom ORDER BY r.seq))), max(r.agg_cost + r.cost), sum(e.length_m)
FROM pgr_dijkstra(%(edges_sql)s, %(start)s, %(end)s, directed => false) AS r
JOIN {edges} AS e ON e.id = r.edge
