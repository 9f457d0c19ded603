"""Applying edits: one transaction under the layer's lock, with its record and new version.

``edit_session`` takes the lock every writer of the layer takes (``reserve_version``'s
advisory lock), so two editors of one feature are ordered: the second one's precondition
is evaluated after the first one's commit, and fails (ADR 0013, decisions 1, 2 and 5).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from layers.catalog import SQL_TYPES, FieldInfo, Layer
from layers.edit.body import new_field_type
from layers.edit.errors import NotEditable
from layers.edit.revision import Revision, read_revision, whole_seconds
from layers.edit.rules import EditRules
from layers.errors import Conflict, NotFound
from layers.features.ids import fid_of, id_value
from layers.platform import DATA_SCHEMA
from layers.webhooks.events import edited, record_change, who_of

STATE_SQL = b"""
SELECT l.current_version, l.editable, v.table_name, v.extent, clock_timestamp() AS now
FROM onemap.layers AS l
JOIN onemap.layer_versions AS v ON v.layer_id = l.id AND v.version = l.current_version
WHERE l.id = %(layer)s
"""
NEXT_VERSION_SQL = b"SELECT max(version) + 1 FROM onemap.layer_versions WHERE layer_id = %s"
# The new version: the current one's row with a new number, count, extent and time.
COPY_VERSION_SQL = b"""
INSERT INTO onemap.layer_versions (
    layer_id, version, table_name, storage_srid, geometry_type, extent, temporal_start,
    temporal_end, temporal_field, temporal_end_field, field_schema, feature_count,
    source_sha256, lineage, created_by, created_at, asset_path, source_fingerprint, layer_meta)
SELECT layer_id, %(version)s, table_name, storage_srid, geometry_type, %(extent)s,
       temporal_start, temporal_end, temporal_field, temporal_end_field, field_schema,
       feature_count + %(delta)s, source_sha256, %(lineage)s, %(who)s, %(at)s, asset_path,
       source_fingerprint, layer_meta
FROM onemap.layer_versions WHERE layer_id = %(layer)s AND version = %(current)s
"""
# A further operation of a batch: the version the first one made, grown (ADR 0013, 10).
GROW_VERSION_SQL = b"""
UPDATE onemap.layer_versions
SET feature_count = feature_count + %(delta)s, extent = %(extent)s, lineage = %(lineage)s
WHERE layer_id = %(layer)s AND version = %(version)s
"""
FIELDS_SQL = (
    b"UPDATE onemap.layer_versions SET field_schema = %s WHERE layer_id = %s AND version = %s"
)
MAKE_CURRENT_SQL = (
    b"UPDATE onemap.layers SET current_version = %s, updated_at = now() WHERE id = %s"
)
RECORD_SQL = b"""
INSERT INTO onemap.feature_edits (layer_id, version, table_name, fid, operation, before, after,
    modified_at, actor_kind, actor_subject, request_id, repairs)
VALUES (%(layer)s, %(version)s, %(table)s, %(fid)s, %(operation)s, %(before)s, %(after)s,
    %(at)s, %(actor_kind)s, %(actor_subject)s, %(request_id)s, %(repairs)s)
"""


@dataclass(frozen=True)
class Actor:
    """Who edits, as the audit log names callers, and the request's id."""

    kind: str
    subject: str
    request_id: str | None = None


@dataclass(frozen=True)
class Current:
    """A feature as stored now (GeoJSON in the storage CRS, and its geometry's WKB) and
    its revision."""

    document: dict[str, Any]
    wkb: bytes
    revision: Revision


@dataclass(frozen=True)
class Values:
    """What a create or replace writes: every field, the geometry as WKB (EPSG:4490) and
    its bounds, and what the clean-up changed."""

    properties: Mapping[str, Any]
    wkb: bytes | None
    bounds: tuple[float, float, float, float] | None
    repairs: Mapping[str, int]


class EditSession:
    """One edit of one layer, inside its transaction (made by ``edit_session``)."""

    def __init__(
        self, conn: psycopg.AsyncConnection[Any], layer: Layer, state: dict[str, Any], actor: Actor
    ) -> None:
        self.conn = conn
        self.layer = layer
        self.table = sql.Identifier(DATA_SCHEMA, state["table_name"])
        self.table_name: str = state["table_name"]
        self.current_version: int = state["current_version"]
        self.extent: list[float] | None = state["extent"]
        self.now: datetime = state["now"]
        self.actor = actor
        self.produced: int | None = None  # the version this session's first edit made
        self.operations = 0
        self.fields = list(layer.fields)  # with the fields this session's edits added
        self.lineage: dict[str, Any] = {}  # more of what the next version records (a revert)
        self.changed: list[tuple[str, int]] = []  # (operation, fid) of each edit, in order

    async def feature(self, fid: int) -> Current | None:
        """The feature, locked until the commit, or None when it does not exist."""
        statement = sql.SQL(
            "SELECT {}, ST_AsBinary(t.geom) FROM {} AS t WHERE t.fid = %s FOR UPDATE"
        ).format(_document(), self.table)
        row = await (await self.conn.execute(statement, (fid,))).fetchone()
        if row is None:
            return None
        revision = await read_revision(self.conn, self.layer.id, self.table_name, fid)
        return Current(row[0], bytes(row[1]), revision)

    async def locate(self, feature_id: str) -> int | None:
        """The fid of the feature the URL names (see ``layers.features.ids``)."""
        return await fid_of(self.conn, self.layer, feature_id)

    async def create(
        self, values: Values, fid: int | None = None, feature_id: str | None = None
    ) -> Revision:
        """A new feature; ``fid``: the id of one that was deleted (a revert brings it back);
        on a layer with an id field, named ``feature_id`` (a PUT to a new id) or its fid."""
        if fid is None:
            row = await (
                await self.conn.execute(b"SELECT onemap.reserve_feature_ids(1)")
            ).fetchone()
            assert row is not None
            fid = int(row[0])
        properties = dict(values.properties)
        if self.layer.id_field is not None:
            properties[self.layer.id_field] = id_value(self.layer, feature_id or str(fid))
        values = Values(properties, values.wkb, values.bounds, values.repairs)
        await self._add_fields(values.properties)
        names = [sql.Identifier("fid"), sql.Identifier("geom")]
        names += [sql.Identifier(name) for name in values.properties]
        statement = sql.SQL(
            "INSERT INTO {} AS t ({}) VALUES (%s, ST_GeomFromWKB(%s, {}), {}) RETURNING {}"
        ).format(
            self.table,
            sql.SQL(", ").join(names),
            sql.Literal(self.layer.storage_srid),
            sql.SQL(", ").join(sql.Placeholder() * len(values.properties)),
            _document(),
        )
        params = [fid, values.wkb, *values.properties.values()]
        after = await self._returned(statement, params)
        return await self._record("create", fid, None, after, values, delta=1)

    async def replace(self, current: Current, values: Values, operation: str) -> Revision:
        """Every field and the geometry of ``current`` (``operation``: replace or update)."""
        await self._add_fields(values.properties)
        sets = [
            sql.SQL("geom = ST_GeomFromWKB(%s, {})").format(sql.Literal(self.layer.storage_srid))
        ]
        sets += [sql.SQL("{} = %s").format(sql.Identifier(name)) for name in values.properties]
        statement = sql.SQL("UPDATE {} AS t SET {} WHERE t.fid = %s RETURNING {}").format(
            self.table, sql.SQL(", ").join(sets), _document()
        )
        fid = current.revision.fid
        after = await self._returned(statement, [values.wkb, *values.properties.values(), fid])
        return await self._record(operation, fid, current, after, values, delta=0)

    async def delete(self, current: Current) -> Revision:
        statement = sql.SQL("DELETE FROM {} WHERE fid = %s").format(self.table)
        await self.conn.execute(statement, (current.revision.fid,))
        return await self._record("delete", current.revision.fid, current, None, None, delta=-1)

    async def _add_fields(self, properties: Mapping[str, Any]) -> None:
        """Properties that are not yet fields become fields (the layer's
        ``additionalProperties`` rule; ``checked_properties`` let them through): a column of
        the table, a field of the version this session makes, a column of the stable view."""
        known = {f.name for f in self.fields}
        added = [
            FieldInfo(name, new_field_type(name, value), name, name)
            for name, value in properties.items()
            if name not in known and value is not None
        ]
        for field in added:
            await self.conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    self.table, sql.Identifier(field.name), sql.SQL(SQL_TYPES[field.type])
                )
            )
        if added:
            self.fields += added
            view = sql.Identifier(DATA_SCHEMA, self.layer.id)
            await self.conn.execute(
                sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT * FROM {}").format(view, self.table)
            )

    async def _returned(self, statement: sql.Composed, params: list[Any]) -> dict[str, Any]:
        row = await (await self.conn.execute(statement, params)).fetchone()
        assert row is not None
        return dict(row[0])

    async def _record(
        self,
        operation: str,
        fid: int,
        current: Current | None,
        after: dict[str, Any] | None,
        values: Values | None,
        *,
        delta: int,
    ) -> Revision:
        """The edit's row and the layer version it produces."""
        at = _modified_at(self.now, current)
        version = await self._new_version(operation, fid, at, values, delta)
        await self.conn.execute(
            RECORD_SQL,
            {
                "layer": self.layer.id,
                "version": version,
                "table": self.table_name,
                "fid": fid,
                "operation": operation,
                "before": Jsonb(current.document) if current else None,
                "after": Jsonb(after) if after is not None else None,
                "at": at,
                "actor_kind": self.actor.kind,
                "actor_subject": self.actor.subject,
                "request_id": self.actor.request_id,
                "repairs": Jsonb(dict(values.repairs) if values else {}),
            },
        )
        return Revision(self.layer.id, fid, version, at)

    async def _new_version(
        self, operation: str, fid: int, at: datetime, values: Values | None, delta: int
    ) -> int:
        """The session's version: made by its first edit, grown by a batch's later ones,
        so a batch of any size is one version (ADR 0013, decision 10)."""
        self.operations += 1
        self.changed.append((operation, fid))
        self.extent = _grown(self.extent, values.bounds if values else None)
        who = self.actor.subject or self.actor.kind
        if self.produced is not None:
            lineage = {"edit": "batch", "operations": self.operations, "who": who}
            params = {"layer": self.layer.id, "version": self.produced, "delta": delta}
            params |= {"extent": self.extent, "lineage": Jsonb(lineage)}
            await self.conn.execute(GROW_VERSION_SQL, params)
            await self._record_fields()
            return self.produced
        row = await (await self.conn.execute(NEXT_VERSION_SQL, (self.layer.id,))).fetchone()
        assert row is not None
        version = int(row[0])
        lineage = {"edit": operation, "fid": fid, "who": who, **self.lineage}
        await self.conn.execute(
            COPY_VERSION_SQL,
            {
                "layer": self.layer.id,
                "current": self.current_version,
                "version": version,
                "extent": self.extent,
                "delta": delta,
                "lineage": Jsonb(lineage),
                "who": who,
                "at": at,
            },
        )
        await self.conn.execute(MAKE_CURRENT_SQL, (version, self.layer.id))  # NOTIFY: reload
        self.current_version = self.produced = version
        await self._record_fields()
        return version

    async def notify(self) -> None:
        """The change event of the session's version (ADR 0014), in its transaction: one per
        version, a batch's naming every feature it changed (``operation`` "batch")."""
        if self.produced is None:
            return
        operations = {operation for operation, _ in self.changed}
        operation = operations.pop() if len(self.changed) == 1 else "batch"
        fids = [fid for _, fid in self.changed]
        who = who_of(self.actor.kind, self.actor.subject)
        await record_change(self.conn, edited(self.layer.id, self.produced, operation, fids, who))

    async def _record_fields(self) -> None:
        if len(self.fields) != len(self.layer.fields):  # fields were added
            await self.conn.execute(
                FIELDS_SQL,
                (Jsonb([f.to_json() for f in self.fields]), self.layer.id, self.produced),
            )


@asynccontextmanager
async def edit_session(
    pool: AsyncConnectionPool, layer: Layer, actor: Actor
) -> AsyncIterator[EditSession]:
    """A transaction holding ``layer``'s write lock; committed when the block ends."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(b"SELECT pg_advisory_xact_lock(hashtext(%s))", (f"layer:{layer.id}",))
        # The data table's triggers record direct SQL edits; this one records itself.
        await conn.execute(b"SELECT set_config('onemap.edit', 'api', true)")
        async with conn.cursor(row_factory=dict_row) as cur:
            state = await (await cur.execute(STATE_SQL, {"layer": layer.id})).fetchone()
        if state is None:
            raise NotFound(f"collection '{layer.id}' does not exist; see /collections")
        if not state["editable"]:
            raise not_editable(layer.id)
        session = EditSession(conn, layer, state, actor)
        yield session
        await session.notify()


def not_editable(layer_id: str) -> NotEditable:
    return NotEditable(
        f"collection '{layer_id}' is not open for editing; its department's publishers can "
        f'open it with PUT /collections/{layer_id}/editing {{"editable": true}}'
    )


async def set_editable(
    pool: AsyncConnectionPool, layer: Layer, editable: bool, rules: EditRules
) -> None:
    """Open or close ``layer`` for editing with its rules (the layer row's trigger tells
    every process); an id field must hold a value, and a different one, in every feature."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(b"SELECT pg_advisory_xact_lock(hashtext(%s))", (f"layer:{layer.id}",))
        if rules.id_field is not None:
            await _check_ids(conn, layer, rules.id_field)
            await _index_ids(conn, layer, rules.id_field)
        await conn.execute(
            b"UPDATE onemap.layers SET editable = %s, edit_rules = %s, updated_at = now()"
            b" WHERE id = %s",
            (editable, Jsonb(rules.to_json()), layer.id),
        )


async def _check_ids(conn: psycopg.AsyncConnection[Any], layer: Layer, name: str) -> None:
    column, table = sql.Identifier(name), sql.Identifier(DATA_SCHEMA, layer.table_name)
    statement = sql.SQL(
        "SELECT count(*) FILTER (WHERE {0} IS NULL), count(*) - count(DISTINCT {0}) FROM {1}"
    ).format(column, table)
    row = await (await conn.execute(statement)).fetchone()
    assert row is not None
    if row[0] or row[1]:
        raise Conflict(
            f"'{name}' cannot be the id field of '{layer.id}': {row[0]} features have no "
            f"value and {row[1]} repeat another's; fix the data and publish it again"
        )


async def _index_ids(conn: psycopg.AsyncConnection[Any], layer: Layer, name: str) -> None:
    """A unique index: ids are looked up per request, and no edit (API or SQL) may repeat one."""
    index = sql.Identifier(
        f"{layer.table_name[:40]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}_id"
    )
    await conn.execute(
        sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({})").format(
            index, sql.Identifier(DATA_SCHEMA, layer.table_name), sql.Identifier(name)
        )
    )


def _document() -> sql.Composable:
    """The row as a GeoJSON Feature in the storage CRS (the edit record's before/after)."""
    return sql.SQL(
        "jsonb_build_object('type', 'Feature', 'id', t.fid, "
        "'geometry', ST_AsGeoJSON(t.geom)::jsonb, 'properties', to_jsonb(t) - 'fid' - 'geom')"
    )


def _modified_at(now: datetime, current: Current | None) -> datetime:
    """Whole seconds, at least one after the feature's previous change (ADR 0013, 4)."""
    moment = whole_seconds(now)
    if current is not None:
        moment = max(moment, whole_seconds(current.revision.modified_at) + timedelta(seconds=1))
    return moment


def _grown(
    extent: list[float] | None, bounds: tuple[float, float, float, float] | None
) -> list[float] | None:
    """The layer's extent with the new geometry in it (a delete never shrinks it)."""
    if bounds is None:
        return extent
    if extent is None:
        return list(bounds)
    return [
        min(extent[0], bounds[0]),
        min(extent[1], bounds[1]),
        max(extent[2], bounds[2]),
        max(extent[3], bounds[3]),
    ]
