-- The layer catalog: departments, layers, and every published version of a layer.
-- Layer data lives in schema onemap_data, one table per version; the catalog says
-- which version is current. Earlier versions are kept so they can be restored.

CREATE SCHEMA IF NOT EXISTS onemap;
CREATE SCHEMA IF NOT EXISTS onemap_data;

CREATE TABLE onemap.departments (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,47}$'),
    name_zh     text NOT NULL,
    name_en     text,
    level       text NOT NULL CHECK (level IN ('province', 'city', 'county')),
    adcode      text NOT NULL CHECK (adcode ~ '^[0-9]{6}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE onemap.layers (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,47}$'),
    kind            text NOT NULL DEFAULT 'vector' CHECK (kind IN ('vector', 'raster')),
    title_zh        text NOT NULL,
    title_en        text NOT NULL,
    description_zh  text NOT NULL DEFAULT '',
    description_en  text NOT NULL DEFAULT '',
    level           text NOT NULL CHECK (level IN ('province', 'city', 'county')),
    adcode          text NOT NULL CHECK (adcode ~ '^[0-9]{6}$'),
    department_id   text REFERENCES onemap.departments (id),
    keywords        text[] NOT NULL DEFAULT '{}',
    license         text NOT NULL DEFAULT '',
    attribution     text NOT NULL DEFAULT '',
    access_level    text NOT NULL DEFAULT 'public'
                    CHECK (access_level IN ('public', 'internal', 'restricted')),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    current_version integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE onemap.layer_versions (
    layer_id        text NOT NULL REFERENCES onemap.layers (id) ON DELETE CASCADE,
    version         integer NOT NULL CHECK (version > 0),
    table_name      text NOT NULL,
    storage_srid    integer NOT NULL,
    geometry_type   text,
    extent          double precision[] CHECK (extent IS NULL OR cardinality(extent) = 4),
    temporal_start  timestamptz,
    temporal_end    timestamptz,
    temporal_field  text,
    field_schema    jsonb NOT NULL DEFAULT '[]'::jsonb,
    feature_count   bigint NOT NULL DEFAULT 0,
    source_sha256   text,
    lineage         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by      text NOT NULL DEFAULT current_user,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer_id, version)
);

ALTER TABLE onemap.layers
    ADD CONSTRAINT layers_current_version_fk
    FOREIGN KEY (id, current_version) REFERENCES onemap.layer_versions (layer_id, version)
    DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX layers_adcode_idx ON onemap.layers (adcode text_pattern_ops);

-- One row of state the service keeps about itself (e.g. whether sample data was loaded).
CREATE TABLE onemap.service_state (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every change to the catalog tells every OneMap process, so replicas reload it at once.
CREATE FUNCTION onemap.notify_catalog_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_catalog', COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER layers_changed
    AFTER INSERT OR UPDATE OR DELETE ON onemap.layers
    FOR EACH ROW EXECUTE FUNCTION onemap.notify_catalog_change();
