-- Editing (ADR 0013). A layer is editable only when its owner says so; every edit is one
-- row here, written in the transaction that changes the feature, and is the index of each
-- feature's revision (its ETag and Last-Modified).

ALTER TABLE onemap.layers ADD COLUMN editable boolean NOT NULL DEFAULT false;

CREATE TABLE onemap.feature_edits (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer_id        text NOT NULL REFERENCES onemap.layers (id) ON DELETE CASCADE,
    version         integer NOT NULL,        -- the layer version the edit produced
    table_name      text NOT NULL,           -- the version table that was changed
    fid             bigint NOT NULL,
    operation       text NOT NULL CHECK (operation IN ('create', 'replace', 'update', 'delete')),
    before          jsonb,                   -- GeoJSON in the storage CRS; NULL for a create
    after           jsonb,                   -- NULL for a delete
    modified_at     timestamptz NOT NULL,    -- whole seconds, increasing per feature
    actor_kind      text NOT NULL,
    actor_subject   text NOT NULL DEFAULT '',
    request_id      text,
    repairs         jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (layer_id, version, fid)
);

CREATE INDEX feature_edits_revision_idx ON onemap.feature_edits (table_name, fid, version DESC);
