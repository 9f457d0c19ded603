-- The head of each (subscription, layer) queue — its oldest pending delivery, so a layer's
-- changes reach a receiver in order — soonest due first, with the seconds until it is due.
WITH heads AS (
    SELECT DISTINCT ON (subscription_id, layer_id) subscription_id, event_seq, attempts,
           next_attempt_at
    FROM onemap.webhook_deliveries
    WHERE state = 'pending'
    ORDER BY subscription_id, layer_id, event_seq
)
SELECT h.subscription_id, h.event_seq, h.attempts, s.url, s.secret,
       e.id AS event_id, e.type, e.layer_id, e.time, e.data,
       greatest(extract(epoch FROM h.next_attempt_at - clock_timestamp()), 0)::float8 AS due_in
FROM heads AS h
JOIN onemap.webhook_subscriptions AS s ON s.id = h.subscription_id
JOIN onemap.change_events AS e ON e.seq = h.event_seq
ORDER BY h.next_attempt_at
LIMIT %(limit)s
