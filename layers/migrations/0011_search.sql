-- Place-name search (issue 14): one search table per searchable layer version, built when
-- the version is published (layers.search.index), in a schema of its own so the orphan
-- sweep of onemap_data (layers.versions.drop_orphans) never takes them. pg_trgm is a
-- trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS onemap_search;

-- The one normalisation of names and queries: NFKC (full-width Ｔｉａｎｈｅ and ４４０１ become
-- ASCII), lower case, no white space (天河 区 = 天河区).
CREATE FUNCTION onemap.search_key(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(lower(normalize(name, NFKC)), '\s+', '', 'g');

CREATE TABLE onemap.search_indexes (
    table_name  text PRIMARY KEY,
    layer_id    text NOT NULL,
    version     integer NOT NULL,
    field       text NOT NULL,
    row_count   bigint NOT NULL,
    built_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_indexes_layer_idx ON onemap.search_indexes (layer_id);
