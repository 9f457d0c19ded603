"""Outbox retention (``ONEMAP_WEBHOOK_RETENTION_DAYS``, ADR 0014): delivered notifications
and settled events older than the retention are removed; pending and dead deliveries, their
events, recent ones and events not yet fanned out are kept."""

from __future__ import annotations

import uuid

import psycopg

from layers.webhooks.dispatch import prune_delivered
from tests.access.ownership_fixtures import DEPT_A
from tests.helpers.catalog import register_department


def event(conn: psycopg.Connection, layer: str, days_old: int, fanned_out: bool = True) -> int:
    row = conn.execute(
        "INSERT INTO onemap.change_events (layer_id, type, time, data, access_level, fanned_out)"
        " VALUES (%s, 'test', now() - make_interval(days => %s), '{}', 'public', %s)"
        " RETURNING seq",
        [layer, days_old, fanned_out],
    ).fetchone()
    assert row is not None
    return int(row[0])


def deliver(conn: psycopg.Connection, subscription: str, seq: int, state: str, days: int) -> None:
    conn.execute(
        "INSERT INTO onemap.webhook_deliveries (subscription_id, event_seq, layer_id, state,"
        " delivered_at) SELECT %s, seq, layer_id, %s, CASE WHEN %s = 'delivered' THEN"
        " now() - make_interval(days => %s) END FROM onemap.change_events WHERE seq = %s",
        [subscription, state, state, days, seq],
    )


async def test_old_delivered_notifications_go_and_everything_still_owed_stays(
    sample_url: str,
) -> None:
    layer = f"retention-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(sample_url) as conn:
        register_department(conn, DEPT_A)
        found = conn.execute(
            "INSERT INTO onemap.webhook_subscriptions (department_id, watch_department, layer_id,"
            " url, secret, created_by) VALUES (%s, %s, %s, 'http://127.0.0.1:9/', 's', 'test')"
            " RETURNING id::text",
            [DEPT_A, DEPT_A, layer],
        ).fetchone()
        assert found is not None
        subscription = found[0]
        old_delivered, old_dead, old_pending, recent = (
            event(conn, layer, d) for d in (40, 40, 40, 1)
        )
        old_unsent = event(conn, layer, 40)  # fanned out to nobody: settled
        not_fanned = event(conn, layer, 40, fanned_out=False)
        deliver(conn, subscription, old_delivered, "delivered", 40)
        deliver(conn, subscription, old_dead, "dead", 0)
        deliver(conn, subscription, old_pending, "pending", 0)
        deliver(conn, subscription, recent, "delivered", 1)

    async with await psycopg.AsyncConnection.connect(sample_url, autocommit=True) as conn:
        assert await prune_delivered(conn, 30) >= 1

    with psycopg.connect(sample_url) as conn:
        events = conn.execute(
            "SELECT seq FROM onemap.change_events WHERE layer_id = %s ORDER BY seq", [layer]
        ).fetchall()
        deliveries = conn.execute(
            "SELECT event_seq, state FROM onemap.webhook_deliveries WHERE layer_id = %s"
            " ORDER BY event_seq",
            [layer],
        ).fetchall()
        conn.execute("DELETE FROM onemap.webhook_subscriptions WHERE id = %s", [subscription])
        conn.execute("DELETE FROM onemap.change_events WHERE layer_id = %s", [layer])
    assert [e[0] for e in events] == sorted([old_dead, old_pending, recent, not_fanned])
    assert old_delivered not in [e[0] for e in events] and old_unsent not in [e[0] for e in events]
    assert deliveries == [(old_dead, "dead"), (old_pending, "pending"), (recent, "delivered")]
