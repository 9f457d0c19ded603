-- The fastest path of each given (start, end) node pair: its seconds, metres and, when
-- %(with_geometry)s, its line. {edges} is a sql.Identifier (a network table or a run's view);
-- %(pairs_sql)s is the combinations query pgRouting runs (columns source, target).
SELECT r.start_vid, r.end_vid, sum(r.cost), sum(e.length_m),
       ST_AsBinary(ST_LineMerge(ST_Collect(e.geom ORDER BY r.path_seq) FILTER (WHERE %(with_geometry)s)))
FROM pgr_dijkstra(%(edges_sql)s, %(pairs_sql)s, directed => false) AS r
JOIN {edges} AS e ON e.id = r.edge
GROUP BY r.start_vid, r.end_vid
