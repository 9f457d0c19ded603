-- A layer's access: level, owner department, internal fields (metadata.internal_fields).
-- NULL leaves a setting as it is. The layers trigger tells every replica to reload, and
-- the current version's metadata copy follows (migration 0007). Returns before and after.
WITH before AS (
    SELECT id, access_level, department_id, metadata -> 'internal_fields' AS internal_fields
    FROM onemap.layers WHERE id = %(id)s FOR UPDATE
)
UPDATE onemap.layers AS l SET
    access_level = COALESCE(%(access_level)s, l.access_level),
    department_id = COALESCE(%(department_id)s, l.department_id),
    metadata = CASE WHEN %(internal_fields)s::jsonb IS NULL THEN l.metadata
               ELSE jsonb_set(l.metadata, '{internal_fields}', %(internal_fields)s::jsonb) END,
    updated_at = now()
FROM before
WHERE l.id = before.id
RETURNING before.access_level, before.department_id, before.internal_fields,
          l.access_level, l.department_id, l.metadata -> 'internal_fields'
