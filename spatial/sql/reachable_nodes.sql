-- Nodes reachable from a start node within a travel time (seconds), undirected.
SELECT d.node, d.agg_cost, ST_X(n.geom), ST_Y(n.geom)
FROM pgr_drivingDistance(%(edges_sql)s, %(start)s, %(max_cost)s, directed => false) AS d
JOIN {nodes} AS n ON n.id = d.node
