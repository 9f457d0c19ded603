-- One attempt's outcome: delivered, dead after the last allowed attempt, or due again later.
UPDATE onemap.webhook_deliveries
SET attempts = attempts + 1,
    last_attempt_at = clock_timestamp(),
    last_status = %(status)s,
    last_error = %(error)s,
    state = CASE WHEN %(ok)s THEN 'delivered'
                 WHEN attempts + 1 >= %(max_attempts)s THEN 'dead'
                 ELSE 'pending' END,
    delivered_at = CASE WHEN %(ok)s THEN clock_timestamp() END,
    next_attempt_at = clock_timestamp() + make_interval(secs => %(delay)s)
WHERE subscription_id = %(subscription)s AND event_seq = %(seq)s
