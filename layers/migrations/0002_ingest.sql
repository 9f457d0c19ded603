-- Ingest: lineage of every run, raster assets, themes and roll-up views.

-- Every ingest run, whatever its outcome (published, unchanged, failed), is recorded
-- in its own transaction so a failed run still leaves its trace.
CREATE TABLE onemap.ingest_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer_id        text NOT NULL,
    version         integer,
    status          text NOT NULL CHECK (status IN ('published', 'unchanged', 'failed')),
    source_name     text NOT NULL,
    source_size     bigint,
    source_sha256   text,
    detected        jsonb NOT NULL DEFAULT '{}'::jsonb,   -- encoding, CRS, transformation
    features_in     bigint,
    features_out    bigint,
    repairs         jsonb NOT NULL DEFAULT '{}'::jsonb,
    warnings        text[] NOT NULL DEFAULT '{}',
    error           text,
    who             text NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_s      double precision NOT NULL
);
CREATE INDEX ingest_runs_layer_idx ON onemap.ingest_runs (layer_id, started_at DESC);

-- Feature ids are unique across every layer table, so roll-up views can union
-- county tables without colliding ids (and keep using each table's primary key).
CREATE SEQUENCE onemap.feature_id_seq AS bigint;

-- Raster layers keep a Cloud-Optimised GeoTIFF on (shared) storage instead of a table.
ALTER TABLE onemap.layer_versions ADD COLUMN asset_path text;

-- The file's sha256 plus the options that change what is read from it (source layer,
-- CRS, encoding): an ingest with the same fingerprint as the current version is a no-op.
ALTER TABLE onemap.layer_versions ADD COLUMN source_fingerprint text;

-- A theme groups county layers that publish the same kind of data (e.g. schools);
-- roll-up layers are views over the current versions of a theme's members.
ALTER TABLE onemap.layers ADD COLUMN theme text;
ALTER TABLE onemap.layers ADD COLUMN rollup_of text;
CREATE INDEX layers_theme_idx ON onemap.layers (theme) WHERE theme IS NOT NULL;
