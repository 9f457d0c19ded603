-- Editing rules a layer's owner sets with its editing flag (ADR 0013, decisions 11-15):
-- {"serviceArea": [w, s, e, n] (longitude/latitude; absent: Guangdong),
--  "idField": "<field whose values are the features' ids>", "required": ["<field>", ...],
--  "additionalProperties": true (edits may add fields)}.
ALTER TABLE onemap.layers ADD COLUMN edit_rules jsonb NOT NULL DEFAULT '{}'::jsonb;
