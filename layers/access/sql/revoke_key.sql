-- Revoke a key once; the trigger tells every process to drop it from its cache.
UPDATE onemap.api_keys AS k
SET revoked_at = now(), revoked_by = %(revoked_by)s
WHERE k.id = %(id)s AND k.revoked_at IS NULL
RETURNING k.id, k.department_id, k.name, k.type, k.referers, k.ip_ranges, k.roles, k.areas,
       k.quota_tiles, k.quota_features, k.quota_processes, k.rate_limit, k.expires_at, k.revoked_at,
       k.revoked_by, k.created_by, k.created_at
