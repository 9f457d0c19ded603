-- A new API key (layers/access/keys.py); only the secret's SHA-256 is stored.
INSERT INTO onemap.api_keys AS k
    (id, secret_hash, department_id, name, type, referers, ip_ranges, roles, areas,
     quota_tiles, quota_features, quota_processes, rate_limit, expires_at, created_by)
VALUES
    (%(id)s, %(secret_hash)s, %(department_id)s, %(name)s, %(type)s, %(referers)s,
     %(ip_ranges)s::cidr[], %(roles)s, %(areas)s, %(quota_tiles)s, %(quota_features)s,
     %(quota_processes)s, %(rate_limit)s, %(expires_at)s, %(created_by)s)
RETURNING k.id, k.department_id, k.name, k.type, k.referers, k.ip_ranges, k.roles, k.areas,
       k.quota_tiles, k.quota_features, k.quota_processes, k.rate_limit, k.expires_at, k.revoked_at,
       k.revoked_by, k.created_by, k.created_at
