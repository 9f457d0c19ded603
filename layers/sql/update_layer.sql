UPDATE onemap.layers SET
    kind = %(kind)s, title_zh = %(title_zh)s, title_en = %(title_en)s,
    description_zh = %(description_zh)s, description_en = %(description_en)s,
    level = %(level)s, adcode = %(adcode)s, department_id = %(department_id)s,
    keywords = %(keywords)s, license = %(license)s, attribution = %(attribution)s,
    access_level = %(access_level)s, metadata = %(metadata)s, theme = %(theme)s,
    rollup_of = %(rollup_of)s, current_version = %(version)s, updated_at = now()
WHERE id = %(id)s
