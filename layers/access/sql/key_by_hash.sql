-- The key whose secret hashes to %(hash)s, with its usage on quota day %(day)s.
SELECT k.id, k.department_id, k.name, k.type, k.referers, k.ip_ranges, k.roles, k.areas,
       k.quota_tiles, k.quota_features, k.quota_processes, k.rate_limit, k.expires_at, k.revoked_at,
       k.revoked_by, k.created_by, k.created_at, k.secret_hash,
       COALESCE((SELECT jsonb_object_agg(u.service, u.count)
                 FROM onemap.api_key_usage AS u
                 WHERE u.key_id = k.id AND u.day = %(day)s), '{}'::jsonb) AS usage
FROM onemap.api_keys AS k
WHERE k.secret_hash = %(hash)s
