-- The query's key (the one normalisation, onemap.search_key) and whether pg_trgm extracts
-- trigrams from CJK text here: it keeps only characters the database's LC_CTYPE calls
-- alphanumeric, which C.UTF-8 does for 天河 and the C locale does not.
SELECT onemap.search_key(%(q)s), show_trgm('天河区') <> '{}'::text[]
