"""Webhook subscriptions: who is told of which layers' changes, and at which URL.

A subscription belongs to a department, the receiver, and watches one layer or every layer
of a department. Its receiver is told only of changes to layers it may read
(``subscriber``: a member of its department, as the access rule sees one). The secret is
made here and shown once; it stays in the database, since signing needs it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from layers.access.audit import AuditEvent, write_event
from layers.access.caller import Caller
from layers.errors import InvalidParameter, NotFound
from layers.webhooks.events import webhooks_sql
from layers.webhooks.signing import new_secret

DELIVERY_STATES = ("pending", "delivered", "dead")


def subscriber(department_id: str) -> Caller:
    """The receiver of a subscription as the access rule sees it: a member of its department."""
    return Caller(
        kind="key",
        subject=f"webhook:{department_id}",
        departments=frozenset({department_id}),
        roles=frozenset({"member"}),
    )


@dataclass(frozen=True)
class SubscriptionSpec:
    """A new subscription: the receiving department, what it watches (a layer of
    ``watch_department``, or with ``layer_id`` None all of that department's layers), where."""

    department_id: str
    watch_department: str | None
    layer_id: str | None
    url: str
    description: str = ""


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    department_id: str
    watch_department: str | None
    layer_id: str | None
    url: str
    description: str
    created_by: str
    created_at: datetime
    pending: int = 0
    delivered: int = 0
    dead: int = 0

    def to_json(self) -> dict[str, Any]:
        watches = {"layer": self.layer_id} if self.layer_id else {"layersOf": self.watch_department}
        return {
            "id": str(self.id),
            "department": self.department_id,
            **watches,
            "url": self.url,
            "description": self.description,
            "createdBy": self.created_by,
            "createdAt": self.created_at.isoformat(),
            "deliveries": {"pending": self.pending, "delivered": self.delivered, "dead": self.dead},
        }


def parse_subscription_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"subscription '{text[:60]}' does not exist") from None


async def create_subscription(
    conn: psycopg.AsyncConnection[Any], spec: SubscriptionSpec, event: AuditEvent
) -> tuple[Subscription, str]:
    """Insert the subscription and its audit row in one transaction; it and its secret."""
    secret = new_secret()
    params = {
        "department": spec.department_id,
        "watch_department": spec.watch_department,
        "layer": spec.layer_id,
        "url": spec.url,
        "secret": secret,
        "description": spec.description,
        "created_by": event.actor.subject or event.actor.kind,
    }
    async with conn.transaction():
        row = await (await conn.execute(webhooks_sql("insert_subscription"), params)).fetchone()
        assert row is not None
        detail = {"subscription": str(row[0]), "department": spec.department_id, "url": spec.url}
        await write_event(conn, _audited(event, spec.layer_id, detail))
    return await get_subscription(conn, row[0]), secret


async def list_subscriptions(
    conn: psycopg.AsyncConnection[Any], watched_by: frozenset[str] | None
) -> list[Subscription]:
    """Every subscription (``watched_by`` None), or those watching these departments' layers."""
    return await _select(conn, None, watched_by)


async def get_subscription(
    conn: psycopg.AsyncConnection[Any],
    subscription_id: uuid.UUID,
    watched_by: frozenset[str] | None = None,
) -> Subscription:
    """The subscription, if it watches ``watched_by``'s layers (None: any); else a 404."""
    found = await _select(conn, subscription_id, watched_by)
    if not found:
        raise NotFound(f"subscription '{subscription_id}' does not exist")
    return found[0]


async def delete_subscription(
    conn: psycopg.AsyncConnection[Any], subscription: Subscription, event: AuditEvent
) -> None:
    """Remove it with its deliveries, audited in the same transaction."""
    async with conn.transaction():
        await conn.execute(
            b"DELETE FROM onemap.webhook_subscriptions WHERE id = %s", (subscription.id,)
        )
        detail = {"subscription": str(subscription.id), "department": subscription.department_id}
        await write_event(conn, _audited(event, subscription.layer_id, detail))


async def list_deliveries(
    conn: psycopg.AsyncConnection[Any], subscription_id: uuid.UUID, state: str | None, limit: int
) -> list[dict[str, Any]]:
    if state is not None and state not in DELIVERY_STATES:
        raise InvalidParameter(f"state is one of {', '.join(DELIVERY_STATES)}")
    params = {"id": subscription_id, "state": state, "limit": limit}
    async with conn.cursor(row_factory=dict_row) as cur:
        rows = await (await cur.execute(webhooks_sql("deliveries"), params)).fetchall()
    return [_delivery_json(row) for row in rows]


async def redeliver_dead(conn: psycopg.AsyncConnection[Any], subscription_id: uuid.UUID) -> int:
    """Give the subscription's dead deliveries a fresh set of attempts; how many."""
    cur = await conn.execute(
        b"UPDATE onemap.webhook_deliveries SET state = 'pending', attempts = 0, "
        b"next_attempt_at = clock_timestamp() WHERE subscription_id = %s AND state = 'dead'",
        (subscription_id,),
    )
    await conn.execute(b"SELECT pg_notify('onemap_outbox', '')")
    return cur.rowcount


async def _select(
    conn: psycopg.AsyncConnection[Any],
    subscription_id: uuid.UUID | None,
    watched_by: frozenset[str] | None,
) -> list[Subscription]:
    departments = None if watched_by is None else sorted(watched_by)
    params = {"id": subscription_id, "departments": departments}
    async with conn.cursor(row_factory=dict_row) as cur:
        rows = await (await cur.execute(webhooks_sql("subscriptions"), params)).fetchall()
    return [Subscription(**row) for row in rows]


def _audited(event: AuditEvent, layer_id: str | None, detail: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        event.operation,
        event.actor,
        layer_id=layer_id,
        request_id=event.request_id,
        client_addr=event.client_addr,
        detail=dict(event.detail) | detail,
    )


def _delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "event": str(row["event_id"]),
        "sequence": row["seq"],
        "type": row["type"],
        "subject": row["layer_id"],
        "time": when(row["time"]),
        "state": row["state"],
        "attempts": row["attempts"],
        "lastStatus": row["last_status"],
        "lastError": row["last_error"],
        "lastAttemptAt": when(row["last_attempt_at"]),
        "nextAttemptAt": when(row["next_attempt_at"]) if row["state"] == "pending" else None,
        "deliveredAt": when(row["delivered_at"]),
    }
