-- Ingest numbers a load's features itself, from a block of onemap.feature_id_seq taken
-- in one call (the server then assigns no default per row, a seventh of a load's COPY
-- time). The advisory lock makes blocks from concurrent ingests disjoint; call it on an
-- autocommit connection so the lock ends with the call. New version tables have no
-- DEFAULT, so nothing takes ids one by one behind the lock's back.
CREATE FUNCTION onemap.reserve_feature_ids(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_id bigint;
BEGIN
    IF n < 1 THEN
        RAISE EXCEPTION 'reserve_feature_ids: n must be positive, got %', n;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('onemap.feature_id_seq'));
    first_id := nextval('onemap.feature_id_seq');
    IF n > 1 THEN
        PERFORM setval('onemap.feature_id_seq', first_id + n - 1);
    END IF;
    RETURN first_id;
END
$$;
