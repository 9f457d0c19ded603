-- Registered department ids (an upload's department must be one of them).
SELECT id FROM onemap.departments ORDER BY id
