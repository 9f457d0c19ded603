"""The audit log: who did what, when, from where, with what outcome.

Writes, key and role changes and denied requests are single rows (``record``); reads of
restricted layers are counted per caller × layer × hour in the process and added to
``onemap.audit_reads`` by a periodic flush (``ReadCounter``), so a tile storm is a few
rows, not millions. Recording never fails the request that is being recorded: a database
error is logged and the request goes on.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from layers.access.caller import Caller
from layers.access.days import utc_now
from layers.access.sqlfiles import access_sql
from layers.db import connect
from layers.errors import InvalidParameter

if TYPE_CHECKING:  # the pool is the service's; one-shot CLI commands never import it
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("onemap.audit")
Outcome = Literal["ok", "denied", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "denied", "failed")
MAX_PAGE = 1000


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened. ``operation`` is a dotted name (``key.create``,
    ``key.revoke``, ``layer.ingest``, ``layer.publish``, ``layer.rollback``,
    ``layer.access``, ``job.dismiss``, ``request.denied``); ``detail`` is JSON."""

    operation: str
    actor: Caller
    outcome: Outcome = "ok"
    layer_id: str | None = None
    version: int | None = None
    request_id: str | None = None
    client_addr: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # None: the database's now()

    def params(self) -> dict[str, Any]:
        detail = dict(self.detail)
        address = _address_or_none(self.client_addr)
        if self.client_addr and address is None:  # keep what was given, in the detail
            detail["client_addr_given"] = self.client_addr[:100]
        return {
            "at": self.at,
            "actor_kind": self.actor.kind,
            "actor_subject": self.actor.subject,
            "actor_departments": sorted(self.actor.departments),
            "operation": self.operation,
            "layer_id": self.layer_id,
            "version": self.version,
            "request_id": self.request_id,
            "client_addr": address,
            "outcome": self.outcome,
            "detail": Jsonb(detail),
        }


def _address_or_none(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


async def write_event(conn: psycopg.AsyncConnection[Any], event: AuditEvent) -> None:
    """Insert ``event`` on ``conn`` — inside the caller's transaction, so a key change and
    its audit row commit together. Errors propagate (the change fails with its record)."""
    await conn.execute(access_sql("insert_audit_event"), event.params())


async def record(pool: AsyncConnectionPool, event: AuditEvent) -> bool:
    """Insert ``event`` on its own; never raises (a lost audit row is logged, and the request
    it records is not failed for it). Returns whether the row was written."""
    try:
        async with pool.connection() as conn:
            await write_event(conn, event)
        return True
    except Exception:
        log.exception("audit event %s by %s not recorded", event.operation, event.actor.subject)
        return False


def write_event_sync(conn: psycopg.Connection[Any], event: AuditEvent) -> None:
    """``write_event`` on a synchronous connection (the command line, job workers): inside
    the caller's transaction, so a rollback and its audit row commit together."""
    conn.execute(access_sql("insert_audit_event"), event.params())


def record_sync(database_url: str, event: AuditEvent) -> bool:
    """``record`` for synchronous code: its own connection; never raises."""
    try:
        with connect(database_url, autocommit=True) as conn:
            write_event_sync(conn, event)
        return True
    except Exception:
        log.exception("audit event %s by %s not recorded", event.operation, event.actor.subject)
        return False


ReadKey = tuple[datetime, str, str, str]  # hour, caller kind, subject, layer (the table's key)


class ReadCounter:
    """Reads of restricted layers, counted in the process per caller × layer × hour and
    added to ``onemap.audit_reads`` with one statement per flush."""

    def __init__(self) -> None:
        self._pending: dict[ReadKey, int] = {}
        self._departments: dict[ReadKey, str] = {}  # as last seen for the caller

    def count(self, caller: Caller, layer_id: str, at: datetime | None = None) -> None:
        hour = (at or utc_now()).replace(minute=0, second=0, microsecond=0)
        key = (hour, caller.kind, caller.subject or "", layer_id)
        self._pending[key] = self._pending.get(key, 0) + 1
        self._departments[key] = ",".join(sorted(caller.departments))

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    async def flush(self, pool: AsyncConnectionPool) -> None:
        """Write what was counted; on a database error keep it for the next flush."""
        batch, self._pending = self._pending, {}
        departments, self._departments = self._departments, {}
        if not batch:
            return
        hours, kinds, subjects, layers = (list(column) for column in zip(*batch, strict=True))
        params = {
            "hours": hours,
            "kinds": kinds,
            "subjects": subjects,
            "layers": layers,
            "departments": [departments[key] for key in batch],
            "counts": list(batch.values()),
        }
        try:
            async with pool.connection() as conn:
                await conn.execute(access_sql("flush_audit_reads"), params)
        except Exception as exc:
            log.warning("restricted-read counts not flushed (%s); kept for the next flush", exc)
            for key, n in batch.items():
                self._pending[key] = self._pending.get(key, 0) + n
                self._departments.setdefault(key, departments[key])


DenialKey = tuple[datetime, str, str, str, int]  # hour, caller kind, subject, path kind, status


@dataclass
class _Denials:
    count: int
    departments: list[str]
    client_addr: str | None
    reason: str


class DenialCounter:
    """Denied requests (401, 403, 429, and 404s on a hidden layer for identified callers),
    counted in the process per caller × path kind × status × hour and written by a flush as
    one ``request.denied`` audit event per group and hour: a flood of refused tiles is one
    row whose ``detail.count`` grows, not a row per request."""

    def __init__(self) -> None:
        self._pending: dict[DenialKey, _Denials] = {}

    def count(
        self,
        caller: Caller,
        path_kind: str,
        status: int,
        reason: str,
        client_addr: str | None = None,
        at: datetime | None = None,
    ) -> None:
        hour = (at or utc_now()).replace(minute=0, second=0, microsecond=0)
        key = (hour, caller.kind, caller.subject or "", path_kind, status)
        found = self._pending.get(key)
        if found is None:
            address = _address_or_none(client_addr)
            departments = sorted(caller.departments)
            self._pending[key] = _Denials(1, departments, address, reason[:300])
        else:
            found.count += 1

    @property
    def pending(self) -> int:
        return sum(d.count for d in self._pending.values())

    async def flush(self, pool: AsyncConnectionPool) -> None:
        """Add what was counted to this hour's events; on a database error keep it."""
        batch, self._pending = self._pending, {}
        if not batch:
            return
        hours, kinds, subjects, path_kinds, statuses = (list(c) for c in zip(*batch, strict=True))
        params = {
            "hours": hours,
            "kinds": kinds,
            "subjects": subjects,
            "path_kinds": path_kinds,
            "statuses": statuses,
            "counts": [d.count for d in batch.values()],
            "departments": [",".join(d.departments) for d in batch.values()],
            "addrs": [d.client_addr for d in batch.values()],
            "reasons": [d.reason for d in batch.values()],
        }
        try:
            async with pool.connection() as conn:
                await conn.execute(access_sql("flush_audit_denials"), params)
        except Exception as exc:
            log.warning("denied-request counts not flushed (%s); kept for the next flush", exc)
            for key, denials in batch.items():
                kept = self._pending.setdefault(key, denials)
                if kept is not denials:
                    kept.count += denials.count


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the admins' view (``onemap audit``, ``GET /admin/audit``); None = any."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    layer: str | None = None
    operation: str | None = None
    outcome: str | None = None
    limit: int = 100
    offset: int = 0

    def params(self) -> dict[str, Any]:
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidParameter(f"limit must be 1–{MAX_PAGE}, got {self.limit}")
        if self.offset < 0:
            raise InvalidParameter(f"offset must be 0 or more, got {self.offset}")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise InvalidParameter(f"outcome must be one of {', '.join(OUTCOMES)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidParameter(f"{name} needs a time zone offset")
        if self.since and self.until and self.since >= self.until:
            raise InvalidParameter("since must be before until")
        return {
            "since": self.since,
            "until": self.until,
            "actor": self.actor,
            "layer": self.layer,
            "operation": self.operation,
            "outcome": self.outcome,
            "limit": self.limit,
            "offset": self.offset,
        }


async def query_events(
    conn: psycopg.AsyncConnection[Any], query: AuditQuery
) -> list[dict[str, Any]]:
    """Audit events matching ``query``, newest first, as JSON-ready dictionaries."""
    params = query.params()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(access_sql("audit_query"), params)
        rows = await cur.fetchall()
    for row in rows:
        row["at"] = row["at"].isoformat()
    return rows
