-- Closed roads for one run, without touching the shared network: the barriers in a temp
-- table, and temp views of the edges they do not touch and of the nodes those edges still
-- reach. pgRouting, the route and the isochrone SQL read the views as they read the tables.
-- {barriers}, {open_edges}, {open_nodes}, {edges}, {nodes} are sql.Identifier; {wkbs} (the
-- barriers' WKB) and {srid} sql.Literal (several statements: no bound parameters).
CREATE TEMP TABLE {barriers} AS
SELECT ST_GeomFromWKB(w, {srid}) AS geom FROM unnest({wkbs}::bytea[]) AS w;

CREATE INDEX ON {barriers} USING gist (geom);
ANALYZE {barriers};

CREATE TEMP VIEW {open_edges} AS
SELECT e.* FROM {edges} AS e
WHERE NOT EXISTS (SELECT 1 FROM {barriers} AS b WHERE ST_Intersects(e.geom, b.geom));

CREATE TEMP VIEW {open_nodes} AS
SELECT n.* FROM {nodes} AS n
WHERE EXISTS (SELECT 1 FROM {open_edges} AS e WHERE e.source = n.id OR e.target = n.id);
