-- The rows of layer version %(version)s as they were then. Edits change a table in place
-- (each edit makes a new version on the same table, ADR 0013), so: the table {table} less
-- the features its edits changed after the version, plus each of those as the oldest later
-- edit found it (its "before"; none when that edit created the feature). {value} is the
-- wanted attribute as text (t.<field> or NULL), {conditions} the caller's area condition.
SELECT fid, value, ST_AsBinary(geom) FROM (
    SELECT t.fid, {value} AS value, t.geom
    FROM {table} AS t
    WHERE NOT EXISTS (
        SELECT 1 FROM onemap.feature_edits AS e
        WHERE e.layer_id = %(layer)s AND e.table_name = %(table_name)s
          AND e.version > %(version)s AND e.fid = t.fid)
    UNION ALL
    SELECT fid, before -> 'properties' ->> %(field)s::text,
           ST_SetSRID(ST_GeomFromGeoJSON(before -> 'geometry'), %(srid)s)
    FROM (
        SELECT DISTINCT ON (fid) fid, before FROM onemap.feature_edits
        WHERE layer_id = %(layer)s AND table_name = %(table_name)s AND version > %(version)s
        ORDER BY fid, version
    ) AS first_later
    WHERE before IS NOT NULL AND before -> 'geometry' IS NOT NULL
) AS rows
WHERE {conditions}
ORDER BY fid
