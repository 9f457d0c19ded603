-- A layer's descriptive metadata and style; NULL leaves a value as it is (a style is set
-- when %(set_style)s: NULL then removes it, back to the default). The current version's
-- metadata copy follows (migration 0007), so a rollback restores each version's own.
-- Returns the values before and after.
WITH before AS (
    SELECT id, title_zh, title_en, description_zh, description_en, keywords, license,
           attribution, metadata -> 'style' AS style
    FROM onemap.layers WHERE id = %(id)s FOR UPDATE
)
UPDATE onemap.layers AS l SET
    title_zh = COALESCE(%(title_zh)s, l.title_zh),
    title_en = COALESCE(%(title_en)s, l.title_en),
    description_zh = COALESCE(%(description_zh)s, l.description_zh),
    description_en = COALESCE(%(description_en)s, l.description_en),
    keywords = COALESCE(%(keywords)s::text[], l.keywords),
    license = COALESCE(%(license)s, l.license),
    attribution = COALESCE(%(attribution)s, l.attribution),
    metadata = CASE WHEN NOT %(set_style)s THEN l.metadata
                    WHEN %(style)s::jsonb IS NULL THEN l.metadata - 'style'
                    ELSE jsonb_set(l.metadata, '{style}', %(style)s::jsonb) END,
    updated_at = now()
FROM before
WHERE l.id = before.id
RETURNING before.title_zh, before.title_en, before.description_zh, before.description_en,
          before.keywords, before.license, before.attribution, before.style,
          l.title_zh, l.title_en, l.description_zh, l.description_en,
          l.keywords, l.license, l.attribution, l.metadata -> 'style'
