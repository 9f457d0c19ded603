INSERT INTO onemap.webhook_subscriptions
    (department_id, watch_department, layer_id, url, secret, description, created_by)
VALUES (%(department)s, %(watch_department)s, %(layer)s, %(url)s, %(secret)s, %(description)s,
        %(created_by)s)
RETURNING id
