-- One key by id.
SELECT k.id, k.department_id, k.name, k.type, k.referers, k.ip_ranges, k.roles, k.areas,
       k.quota_tiles, k.quota_features, k.quota_processes, k.rate_limit, k.expires_at, k.revoked_at,
       k.revoked_by, k.created_by, k.created_at
FROM onemap.api_keys AS k
WHERE k.id = %(id)s
