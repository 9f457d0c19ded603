-- Nodes reachable from a start node within a travel time (seconds), undirected.
SELECT d.node, d.agg_cost
FROM pgr_drivingDistance(%(edges_sql)s, %(start)s, %(max_cost)s, directed => false) AS d
