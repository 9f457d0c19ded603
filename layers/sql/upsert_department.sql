INSERT INTO onemap.departments (id, name_zh, name_en, level, adcode)
VALUES (%(id)s, %(name_zh)s, %(name_en)s, %(level)s, %(adcode)s)
ON CONFLICT (id) DO UPDATE SET
    name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
    level = EXCLUDED.level, adcode = EXCLUDED.adcode
