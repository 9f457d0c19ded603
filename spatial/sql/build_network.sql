-- Build a routable network from a published line layer: one edge per line part; lines meet
-- where their end points coincide to 1e-7°. Cost = seconds at the line's speed (-1 = closed).
-- {edges}, {nodes}, {source} are sql.Identifier; {speed} is an identifier or a literal;
-- {where} limits an area-limited caller's network to their areas (sql.Literal values);
-- {srid} is the storage SRID (layers.platform).
CREATE TEMP TABLE net_parts ON COMMIT DROP AS
SELECT fid, geom, GREATEST(COALESCE(speed_kmh, 0), 0) AS speed_kmh,
       ST_AsBinary(ST_SnapToGrid(ST_StartPoint(geom), 1e-7)) AS a,
       ST_AsBinary(ST_SnapToGrid(ST_EndPoint(geom), 1e-7)) AS b
FROM (SELECT fid, (ST_Dump(geom)).geom AS geom, ({speed})::float8 AS speed_kmh
      FROM {source} {where}) AS parts
WHERE ST_NPoints(geom) >= 2;

CREATE TABLE {nodes} AS
SELECT row_number() OVER (ORDER BY k)::bigint AS id, k, ST_GeomFromWKB(k, {srid}) AS geom
FROM (SELECT a AS k FROM net_parts UNION SELECT b FROM net_parts) AS keys;

CREATE TABLE {edges} AS
SELECT row_number() OVER (ORDER BY e.fid, e.a)::bigint AS id, e.fid AS line_fid,
       s.id AS source, t.id AS target,
       ST_Length(e.geom::geography) AS length_m,
       CASE WHEN e.speed_kmh > 0 THEN ST_Length(e.geom::geography) / (e.speed_kmh / 3.6)
            ELSE -1 END AS cost,
       e.geom
FROM net_parts AS e JOIN {nodes} AS s ON s.k = e.a JOIN {nodes} AS t ON t.k = e.b;

CREATE UNIQUE INDEX ON {edges} (id);
CREATE INDEX ON {edges} (source);
CREATE INDEX ON {edges} (target);
CREATE UNIQUE INDEX ON {nodes} (id);
CREATE INDEX ON {nodes} USING gist (geom);
ANALYZE {edges};
ANALYZE {nodes};

-- Which layer this network belongs to, so the networks of its older versions can be dropped.
COMMENT ON TABLE {edges} IS {layer};
COMMENT ON TABLE {nodes} IS {layer};
