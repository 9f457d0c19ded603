-- A layer version by number, or the newest made at or before an instant (%(at)s), with its
-- table, whether that table is still kept, and the schema it had.
SELECT v.version, v.table_name, v.storage_srid, v.field_schema,
       to_regclass(format('%%I.%%I', %(schema)s::text, v.table_name)) IS NOT NULL AS kept
FROM onemap.layer_versions AS v
WHERE v.layer_id = %(layer)s
  AND v.version = COALESCE(%(version)s::int, (
      SELECT max(version) FROM onemap.layer_versions
      WHERE layer_id = %(layer)s AND created_at <= %(at)s::timestamptz))
