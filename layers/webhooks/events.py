"""Recording a change in the outbox, inside the change's transaction.

A publish, an edit, a rollback or a delete calls ``record_change`` (or ``record_change_sync``
on a synchronous connection) on the connection whose transaction makes the change, so the
event commits with it or not at all; the outbox's trigger wakes the delivery worker on commit.
The layer's access level and department are copied from its row then: they decide which
subscribers may learn of the change (``dispatch.fan_out``), even after a delete.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

PREFIX = "cn.gov.gd.onemap."
LAYER_PUBLISHED = PREFIX + "layer.published"
FEATURE_EDITED = PREFIX + "feature.edited"
LAYER_ROLLED_BACK = PREFIX + "layer.rolledback"
LAYER_DELETED = PREFIX + "layer.deleted"
EVENT_TYPES = (LAYER_PUBLISHED, FEATURE_EDITED, LAYER_ROLLED_BACK, LAYER_DELETED)


@functools.cache
def webhooks_sql(name: str) -> bytes:
    return (resources.files("layers.webhooks") / "sql" / f"{name}.sql").read_bytes()


@dataclass(frozen=True)
class Change:
    """One change of one layer: the CloudEvent's type and subject, and its data."""

    type: str
    layer_id: str
    version: int
    who: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        data = {"layer": self.layer_id, "version": self.version, "who": self.who}
        return {"type": self.type, "layer": self.layer_id, "data": Jsonb(data | dict(self.detail))}


def edited(layer_id: str, version: int, operation: str, fids: Sequence[int], who: str) -> Change:
    """Features ``fids`` created, replaced, updated or deleted (``operation``) by ``who``."""
    return Change(FEATURE_EDITED, layer_id, version, who, {"operation": operation, "fids": fids})


def who_of(kind: str, subject: str | None) -> str:
    """A caller as events name it, as the audit log does: ``user:alice``, ``local:root``."""
    return f"{kind}:{subject}" if subject else kind


async def record_change(conn: psycopg.AsyncConnection[Any], change: Change) -> None:
    """Write ``change`` to the outbox on ``conn``, inside the caller's transaction."""
    await conn.execute(webhooks_sql("insert_change_event"), change.params())


def record_change_sync(conn: psycopg.Connection[Any], change: Change) -> None:
    """``record_change`` on a synchronous connection (ingest, rollback, delete)."""
    conn.execute(webhooks_sql("insert_change_event"), change.params())
