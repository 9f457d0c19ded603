-- Subscriptions with their deliveries counted by state; %(id)s NULL: every one, and
-- %(departments)s NULL: whoever watches (else only those watching these departments' layers).
SELECT s.id, s.department_id, s.watch_department, s.layer_id, s.url, s.description,
       s.created_by, s.created_at,
       count(*) FILTER (WHERE d.state = 'pending') AS pending,
       count(*) FILTER (WHERE d.state = 'delivered') AS delivered,
       count(*) FILTER (WHERE d.state = 'dead') AS dead
FROM onemap.webhook_subscriptions AS s
LEFT JOIN onemap.webhook_deliveries AS d ON d.subscription_id = s.id
WHERE (%(id)s::uuid IS NULL OR s.id = %(id)s::uuid)
  AND (%(departments)s::text[] IS NULL OR s.watch_department = ANY (%(departments)s::text[]))
GROUP BY s.id
ORDER BY s.created_at, s.id
