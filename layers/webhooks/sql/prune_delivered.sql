-- Outbox retention (ONEMAP_WEBHOOK_RETENTION_DAYS): delivered deliveries older than the
-- retention go, then events older than it that were fanned out and have no delivery left.
-- Pending and dead deliveries (and so their events) are kept: a receiver that is down
-- still gets its events, and an operator can still re-send a dead one.
WITH gone AS (
    DELETE FROM onemap.webhook_deliveries
    WHERE state = 'delivered' AND delivered_at < now() - make_interval(secs => %(seconds)s)
    RETURNING event_seq
), events AS (
    DELETE FROM onemap.change_events AS e
    WHERE e.fanned_out AND e.time < now() - make_interval(secs => %(seconds)s)
      AND NOT EXISTS (
          SELECT FROM onemap.webhook_deliveries AS d
          WHERE d.event_seq = e.seq
            AND d.event_seq NOT IN (SELECT event_seq FROM gone))
    RETURNING e.seq
)
SELECT (SELECT count(*) FROM gone) AS deliveries, (SELECT count(*) FROM events) AS events
