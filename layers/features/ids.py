"""Feature ids as the URL says them: the integer ``fid``, or the value of the layer's id
field (``idField`` of its editing rules, ADR 0013 decision 13) — the source data's own
identifiers such as ``B.1``. Internally every row keeps its ``fid`` (keysets, revisions,
tiles); the id field is only how a feature is named to clients (``render._id_json``
writes it into the ``id`` member).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from layers.catalog import Layer
from layers.features.params import parse_feature_id
from layers.features.render import table_of

MAX_ID_LENGTH = 200  # a parcel or building code is far shorter; longer is no feature's id


def id_value(layer: Layer, feature_id: str) -> int | str | None:
    """``feature_id`` as the id field stores it, None when it cannot be one."""
    field = layer.field(layer.id_field) if layer.id_field else None
    if field is None or field.type == "integer":
        return parse_feature_id(feature_id)
    return feature_id if len(feature_id) <= MAX_ID_LENGTH else None


async def fid_of(conn: psycopg.AsyncConnection[Any], layer: Layer, feature_id: str) -> int | None:
    """The fid of the feature the URL names, None when there is none."""
    value = id_value(layer, feature_id)
    if value is None or layer.id_field is None:
        return value if isinstance(value, int) else None
    statement = sql.SQL("SELECT fid FROM {} WHERE {} = %s").format(
        table_of(layer), sql.Identifier(layer.id_field)
    )
    row = await (await conn.execute(statement, (value,))).fetchone()
    return None if row is None else int(row[0])
