-- A key's counted requests per Asia/Shanghai day and service, oldest first.
SELECT day, service, count
FROM onemap.api_key_usage
WHERE key_id = %(id)s AND day >= %(since)s AND day <= %(until)s
ORDER BY day, service
