-- Network seconds between every start and every end node (many to many, undirected); pairs
-- that are not connected are absent, and so is a node paired with itself.
SELECT start_vid, end_vid, agg_cost
FROM pgr_dijkstraCost(%(edges_sql)s, %(starts)s::bigint[], %(ends)s::bigint[], directed => false)
