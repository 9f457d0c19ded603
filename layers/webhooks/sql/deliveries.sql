-- One subscription's deliveries, newest change first; %(state)s NULL: every state.
SELECT e.id AS event_id, e.seq, e.type, e.layer_id, e.time, d.state, d.attempts,
       d.last_status, d.last_error, d.last_attempt_at, d.next_attempt_at, d.delivered_at
FROM onemap.webhook_deliveries AS d
JOIN onemap.change_events AS e ON e.seq = d.event_seq
WHERE d.subscription_id = %(id)s AND (%(state)s::text IS NULL OR d.state = %(state)s)
ORDER BY d.event_seq DESC
LIMIT %(limit)s
