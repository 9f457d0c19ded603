-- Travel time (s) from one node to each of many nodes; unreachable ones are absent.
SELECT end_vid, agg_cost FROM pgr_dijkstraCost(%(edges_sql)s, %(start)s, %(targets)s::bigint[], directed => false)
ORDER BY agg_cost, end_vid
