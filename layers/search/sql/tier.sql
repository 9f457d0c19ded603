-- One tier of one layer's matches (exact, prefix, substring or similar): a window of at
-- most {window} candidates read from an index in {window_order} (bounded work however
-- common the key), of which the {limit} best by {order} are kept. score (pg_trgm
-- similarity, computed for those few only) ranks matches of equal tier across layers.
(SELECT b.*, similarity(b.key, {key}) AS score
 FROM (
    SELECT * FROM (
        SELECT {layer} AS layer, {admin} AS admin, s.fid, s.name, s.key, s.adcode,
               {tier} AS tier, s.geom, s.minx, s.miny, s.maxx, s.maxy
        FROM {source} AS s
        WHERE {match}{filters}
        {window_order}LIMIT {window}
    ) AS w
    ORDER BY {order}
    LIMIT {limit}
 ) AS b)
