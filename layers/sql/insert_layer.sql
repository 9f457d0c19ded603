INSERT INTO onemap.layers (
    id, kind, title_zh, title_en, description_zh, description_en, level, adcode,
    department_id, keywords, license, attribution, access_level, metadata, theme, rollup_of,
    current_version
) VALUES (
    %(id)s, %(kind)s, %(title_zh)s, %(title_en)s, %(description_zh)s, %(description_en)s,
    %(level)s, %(adcode)s, %(department_id)s, %(keywords)s, %(license)s, %(attribution)s,
    %(access_level)s, %(metadata)s, %(theme)s, %(rollup_of)s, %(version)s
)
