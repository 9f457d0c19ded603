-- Tiles: per-level overviews of big layers (tiles.overview), indexed by (level, geometry).
-- btree_gist lets one GiST index serve "z = level AND geom && box"; it is a trusted
-- extension, so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE onemap.tile_overviews (
    table_name  text PRIMARY KEY,
    layer_id    text NOT NULL,
    version     integer NOT NULL,
    family      text NOT NULL CHECK (family IN ('mercator', 'geographic')),
    max_level   integer NOT NULL,
    row_count   bigint NOT NULL,
    built_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tile_overviews_layer_idx ON onemap.tile_overviews (layer_id);
