-- The last version of every deleted layer: an id used again continues its version line, so
-- the tile cache keys and ETags of the old layer (id, version, ...) never name the new one's
-- tiles — not in a replica's cache that missed the delete, not in a browser's cache.
CREATE TABLE IF NOT EXISTS onemap.retired_versions (
    layer_id text PRIMARY KEY,
    last_version integer NOT NULL
);
