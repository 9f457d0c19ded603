-- Each layer version keeps the catalog metadata it was published with (title, licence,
-- attribution, caveats in metadata, ...), so a rollback restores a version's metadata
-- together with its rows. The snapshot is the layer row without its identity and
-- bookkeeping columns; triggers keep the current version's snapshot equal to the layer
-- row, whichever of the two a writer touches first.

ALTER TABLE onemap.layer_versions ADD COLUMN layer_meta jsonb;

CREATE FUNCTION onemap.layer_meta_snapshot(l onemap.layers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(l) - ARRAY['id', 'kind', 'current_version', 'created_at', 'updated_at']
$$;

-- A layer row written (new version, edited metadata, rollback): its current version's copy.
CREATE FUNCTION onemap.layer_meta_to_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE onemap.layer_versions
    SET layer_meta = onemap.layer_meta_snapshot(NEW)
    WHERE layer_id = NEW.id AND version = NEW.current_version
      AND layer_meta IS DISTINCT FROM onemap.layer_meta_snapshot(NEW);
    RETURN NULL;
END;
$$;

CREATE TRIGGER layers_meta_to_version
    AFTER INSERT OR UPDATE ON onemap.layers
    FOR EACH ROW EXECUTE FUNCTION onemap.layer_meta_to_version();

-- A version inserted after its layer row already points at it: take the row's metadata.
CREATE FUNCTION onemap.layer_meta_of_new_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.layer_meta IS NULL THEN
        NEW.layer_meta := (
            SELECT onemap.layer_meta_snapshot(l) FROM onemap.layers AS l
            WHERE l.id = NEW.layer_id AND l.current_version = NEW.version);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER layer_versions_meta
    BEFORE INSERT ON onemap.layer_versions
    FOR EACH ROW EXECUTE FUNCTION onemap.layer_meta_of_new_version();

-- Versions published before this migration: only the current one's metadata is known.
UPDATE onemap.layer_versions AS v SET layer_meta = onemap.layer_meta_snapshot(l)
FROM onemap.layers AS l
WHERE l.id = v.layer_id AND l.current_version = v.version;
