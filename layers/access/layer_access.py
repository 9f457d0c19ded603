"""Changing who may see a layer: its access level, owner department and internal fields.

One function for the admin API and the command line. The change and its audit row commit
together; the catalog trigger makes every replica reload (``onemap_catalog``). Who may ask
for a change is the gate's question (``ogc.gate.ownership.check_access_change``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from layers.access.audit import AuditEvent, write_event
from layers.access.caller import Caller
from layers.access.rules import LEVELS
from layers.access.sqlfiles import access_sql
from layers.catalog import Layer, no_such_layer
from layers.catalog_write import require_registered, sql_text
from layers.errors import InvalidParameter


@dataclass(frozen=True)
class AccessChange:
    """What to change; None leaves a setting as it is (an empty field list clears it)."""

    access_level: str | None = None
    department_id: str | None = None
    internal_fields: tuple[str, ...] | None = None

    def check(self, layer: Layer, departments: Collection[str]) -> None:
        """400 for a change that names an unknown level, department or field."""
        if self == AccessChange():
            raise InvalidParameter("nothing to change: give an access level, department or fields")
        if self.access_level is not None and self.access_level not in LEVELS:
            raise InvalidParameter(
                f"access level must be one of {', '.join(LEVELS)}, got {self.access_level[:40]!r}"
            )
        require_registered(self.department_id, departments)
        unknown = [f for f in self.internal_fields or () if f not in layer.field_names]
        if unknown:
            raise InvalidParameter(
                f"layer '{layer.id}' has no field {', '.join(map(repr, unknown[:10]))}; "
                f"its fields: {', '.join(layer.field_names)}"
            )


async def department_ids_async(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute(sql_text("department_ids"))
    return [row[0] for row in await cur.fetchall()]


async def change_layer_access(
    conn: psycopg.AsyncConnection[Any],
    layer: Layer,
    change: AccessChange,
    actor: Caller,
    *,
    client_addr: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Apply ``change`` to ``layer`` (checked first) and audit it; the access after it."""
    change.check(layer, await department_ids_async(conn))
    fields = None if change.internal_fields is None else Jsonb(sorted(set(change.internal_fields)))
    params = {
        "id": layer.id,
        "access_level": change.access_level,
        "department_id": change.department_id,
        "internal_fields": fields,
    }
    async with conn.transaction():
        cur = await conn.execute(access_sql("update_layer_access"), params)
        row = await cur.fetchone()
        if row is None:
            raise no_such_layer(layer.id)
        before, after = _access(row[:3]), _access(row[3:])
        event = AuditEvent(
            operation="layer.access",
            actor=actor,
            layer_id=layer.id,
            version=layer.version,
            request_id=request_id,
            client_addr=client_addr,
            detail={"before": before, "after": after},
        )
        await write_event(conn, event)
    return after


def _access(values: tuple[Any, ...]) -> dict[str, Any]:
    level, department, internal = values
    return {
        "accessLevel": level,
        "department": department,
        "internalFields": internal if isinstance(internal, list) else [],
    }
