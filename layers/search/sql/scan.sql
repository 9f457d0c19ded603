-- A small layer's exact, prefix and substring matches in one scan (planning a query per
-- tier costs more than reading a few thousand keys): its tier computed, the
-- {limit} best in the order of the final ranking (columns in tier.sql's order).
(SELECT b.*
 FROM (
    SELECT {layer} AS layer, {admin} AS admin, s.fid, s.name, s.key, s.adcode,
           CASE WHEN {exact} THEN 0 WHEN {prefix} THEN 1 WHEN {inner} THEN 2 ELSE 3 END AS tier,
           s.geom, s.minx, s.miny, s.maxx, s.maxy, similarity(s.key, {key}) AS score
    FROM {source} AS s
    WHERE {matches}{filters}
 ) AS b
 ORDER BY tier, score DESC, adcode, length(name), name
 LIMIT {limit})
