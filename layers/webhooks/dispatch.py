"""The delivery worker: fans committed changes out to subscriptions and POSTs them.

Every server process runs one ``Dispatcher``; the one holding the session advisory lock
``LEADER_LOCK`` delivers, the others wait to take over (a worker or replica that dies
releases the lock with its connection). Delivery is at least once: an attempt is recorded
after the receiver answers, so a crash in between sends the event again (receivers
deduplicate by ``webhook-id``). Per subscription and layer only the oldest pending delivery
is attempted, so a receiver sees a layer's changes in order; a failed one waits
(``WebhookSettings.retry_delay``) and the ones behind it wait with it, until it is delivered
or dead (``max_attempts``; listed, and sent again on request, in the admin API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
import psycopg
from psycopg.rows import dict_row

from layers.access.rules import may_read_access
from layers.db import with_options
from layers.webhooks.events import webhooks_sql
from layers.webhooks.settings import WebhookSettings
from layers.webhooks.signing import signed_headers
from layers.webhooks.subscriptions import subscriber
from layers.webhooks.targets import TargetRefused, resolve_target

log = logging.getLogger("onemap.webhooks")
CHANNEL = "onemap_outbox"  # the outbox trigger's NOTIFY (migration 0014)
LEADER_LOCK = "onemap:webhook-delivery"
FAN_OUT_BATCH = 1000
HEADS_BATCH = 200
PRUNE_EVERY_SECONDS = 3600.0  # outbox retention is checked hourly by the leader
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def cloud_event(head: dict[str, Any], source: str) -> bytes:
    """The CloudEvents 1.0 JSON (structured mode) of an outbox row."""
    event = {
        "specversion": "1.0",
        "id": str(head["event_id"]),
        "source": source,
        "type": head["type"],
        "subject": head["layer_id"],
        "time": head["time"].isoformat(),
        "datacontenttype": "application/json",
        "data": head["data"],
    }
    return orjson.dumps(event)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


class Dispatcher:
    def __init__(self, database_url: str, settings: WebhookSettings) -> None:
        self.database_url = database_url
        self.settings = settings
        self._wake = asyncio.Event()
        self.leading = False
        self._next_prune = 0.0  # monotonic time of the next outbox pruning

    async def wake(self) -> None:
        """Called on the outbox's NOTIFY: a change committed."""
        self._wake.set()

    async def run(self) -> None:
        """Forever: lead when the lock is free, else wait and try again."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    with_options(self.database_url), autocommit=True
                ) as conn:
                    if await _try_lock(conn):
                        await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: try again, keep serving
                log.warning("webhook delivery interrupted (%s)", exc)
            finally:
                self.leading = False
            await asyncio.sleep(self.settings.poll_seconds)

    async def _lead(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.leading = True
        log.info("delivering change notifications from this process")
        limits = httpx.Timeout(self.settings.timeout_seconds)
        async with httpx.AsyncClient(
            timeout=limits, follow_redirects=False, trust_env=False
        ) as client:
            while True:
                self._wake.clear()
                wait = await self.round(conn, client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    async def round(self, conn: psycopg.AsyncConnection[Any], client: httpx.AsyncClient) -> float:
        """Fan out, attempt every due head; the seconds until the next one is due."""
        await fan_out(conn)
        if self.settings.retention_days > 0 and time.monotonic() >= self._next_prune:
            await prune_delivered(conn, self.settings.retention_days)
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        async with conn.cursor(row_factory=dict_row) as cur:
            heads = await (
                await cur.execute(webhooks_sql("due_heads"), {"limit": HEADS_BATCH})
            ).fetchall()
        due = [head for head in heads if head["due_in"] <= 0]
        if due:
            await self._attempt_all(conn, client, due)
            return 0.0  # the next of each queue may be due at once
        later = [head["due_in"] for head in heads]
        return float(min([self.settings.poll_seconds, *later]))

    async def _attempt_all(
        self,
        conn: psycopg.AsyncConnection[Any],
        client: httpx.AsyncClient,
        heads: Sequence[dict[str, Any]],
    ) -> None:
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(head: dict[str, Any]) -> None:
            async with gate:
                outcome = await self.attempt(client, head)
            await self._record(conn, head, outcome)

        await asyncio.gather(*(one(head) for head in heads))

    async def attempt(self, client: httpx.AsyncClient, head: dict[str, Any]) -> Outcome:
        """POST one event to its subscription's URL, signed; what came of it."""
        body = cloud_event(head, self.settings.source)
        try:
            target = await resolve_target(head["url"], self.settings.allowed_networks)
        except TargetRefused as exc:
            return Outcome(False, None, exc.message)
        headers = {"Host": target.host_header, "Content-Type": CONTENT_TYPE}
        headers |= signed_headers(head["secret"], str(head["event_id"]), int(time.time()), body)
        sni = {"sni_hostname": target.host}
        try:
            async with client.stream(
                "POST", target.pinned_url, content=body, headers=headers, extensions=sni
            ) as response:  # the body is never read: a receiver's answer is its status
                status = response.status_code
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {str(exc)[:200]}")
        if 200 <= status < 300:
            return Outcome(True, status, None)
        return Outcome(False, status, f"HTTP {status}")

    async def _record(
        self, conn: psycopg.AsyncConnection[Any], head: dict[str, Any], outcome: Outcome
    ) -> None:
        params = {
            "subscription": head["subscription_id"],
            "seq": head["event_seq"],
            "ok": outcome.ok,
            "status": outcome.status,
            "error": outcome.error,
            "max_attempts": self.settings.max_attempts,
            "delay": self.settings.retry_delay(head["attempts"] + 1),
        }
        await conn.execute(webhooks_sql("record_attempt"), params)
        if not outcome.ok:
            log.info(
                "webhook %s: event %s not delivered (attempt %d: %s)",
                head["subscription_id"],
                head["event_id"],
                head["attempts"] + 1,
                outcome.error,
            )


async def prune_delivered(conn: psycopg.AsyncConnection[Any], retention_days: float) -> int:
    """Outbox retention: delivered deliveries and settled events older than
    ``retention_days`` are removed; the number of deliveries removed."""
    seconds = retention_days * 86400
    row = await (
        await conn.execute(webhooks_sql("prune_delivered"), {"seconds": seconds})
    ).fetchone()
    deliveries, events = (int(row[0]), int(row[1])) if row else (0, 0)
    if deliveries or events:
        log.info("outbox: %d delivered notifications and %d events removed", deliveries, events)
    return deliveries


async def _try_lock(conn: psycopg.AsyncConnection[Any]) -> bool:
    row = await (
        await conn.execute(b"SELECT pg_try_advisory_lock(hashtext(%s))", (LEADER_LOCK,))
    ).fetchone()
    return bool(row and row[0])


async def fan_out(conn: psycopg.AsyncConnection[Any]) -> int:
    """Give committed changes to the subscriptions that watch their layer, existed when it
    changed and whose department may read it (its access then); how many changes."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        events = await (
            await cur.execute(webhooks_sql("events_to_fan_out"), {"limit": FAN_OUT_BATCH})
        ).fetchall()
        if not events:
            return 0
        subscriptions = await (
            await cur.execute(
                b"SELECT id, department_id, watch_department, layer_id, created_at "
                b"FROM onemap.webhook_subscriptions"
            )
        ).fetchall()
        rows = [
            (s["id"], e["seq"], e["layer_id"])
            for e in events
            for s in subscriptions
            if _receives(s, e)
        ]
        await cur.executemany(
            b"INSERT INTO onemap.webhook_deliveries (subscription_id, event_seq, layer_id) "
            b"VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            rows,
        )
        await cur.execute(
            b"UPDATE onemap.change_events SET fanned_out = true WHERE seq = ANY(%s)",
            ([e["seq"] for e in events],),
        )
    return len(events)


def _receives(subscription: dict[str, Any], event: dict[str, Any]) -> bool:
    watched = subscription["layer_id"] == event["layer_id"] or (
        subscription["layer_id"] is None
        and subscription["watch_department"] is not None
        and subscription["watch_department"] == event["department_id"]
    )
    created: datetime = subscription["created_at"]
    reader = subscriber(subscription["department_id"])
    return (
        watched
        and created <= event["time"]
        and may_read_access(event["access_level"], event["department_id"], reader)
    )
