"""A feature's history on the layer's one version line (ADR 0013, decisions 1-3 and 11).

A feature's revisions are the edits of ``onemap.feature_edits`` and, for each version
table that held the feature when it was made, the ingest version that made it. Edits
change their table in place, so the state of a feature at layer version N is read from
N's table (the version row knows it) like this: the newest edit of that table up to N
gives its ``after``; with none, the oldest later edit of that table gives its ``before``
(the table as the ingest made it); with no edit at all, the table's row as it is.

Nothing here knows HTTP: ``ogc.common.feature_history`` turns these into documents.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import shapely
import shapely.geometry
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from layers.catalog import FieldInfo, Layer
from layers.edit.body import checked_properties
from layers.edit.store import Values
from layers.errors import NotFound
from layers.platform import DATA_SCHEMA

EDITS_SQL = b"""
SELECT e.version, e.operation, e.modified_at, e.actor_kind, e.actor_subject, e.request_id,
       e.table_name, e.before, e.after, (v.lineage ->> 'reverted_to')::int AS reverted_to
FROM onemap.feature_edits AS e
LEFT JOIN onemap.layer_versions AS v ON v.layer_id = e.layer_id AND v.version = e.version
WHERE e.layer_id = %(layer)s AND e.fid = %(fid)s
ORDER BY e.version DESC
"""
# Each version table of the layer with the version that made it (an ingest or publish).
TABLES_SQL = b"""
SELECT DISTINCT ON (table_name) table_name, version, created_at, created_by,
       to_regclass(format('%%I.%%I', %(schema)s::text, table_name)) IS NOT NULL AS present
FROM onemap.layer_versions WHERE layer_id = %(layer)s
ORDER BY table_name, version
"""
VERSION_SQL = b"""
SELECT version, table_name, storage_srid, geometry_type, field_schema, created_at
FROM onemap.layer_versions WHERE layer_id = %(layer)s AND version = %(version)s
"""
# The version that was current at an instant: the newest made at or before it.
VERSION_AT_SQL = b"""
SELECT max(version) FROM onemap.layer_versions
WHERE layer_id = %(layer)s AND created_at <= %(at)s
"""
INGEST = "ingest"


@dataclass(frozen=True)
class FeatureRevision:
    """One change of a feature: what it became (``state``, GeoJSON in the storage CRS;
    None when the revision removed it) and who made it, when, in which version."""

    version: int
    operation: str  # ingest, create, replace, update, delete
    modified_at: datetime
    actor_kind: str
    actor_subject: str
    table_name: str
    state: dict[str, Any] | None
    removed: dict[str, Any] | None = None  # a delete's last state (what the gate checks)
    request_id: str | None = None
    reverted_to: int | None = None

    @property
    def exists(self) -> bool:
        return self.state is not None


@dataclass(frozen=True)
class VersionRow:
    """A layer version's storage: its table and the schema the table had."""

    version: int
    table_name: str
    storage_srid: int
    geometry_type: str | None
    fields: tuple[FieldInfo, ...]
    created_at: datetime

    def layer(self, current: Layer) -> Layer:
        """``current`` as it was stored at this version (its table, fields, geometry)."""
        return dataclasses.replace(
            current,
            version=self.version,
            table_name=self.table_name,
            storage_srid=self.storage_srid,
            geometry_type=self.geometry_type,
            fields=self.fields,
            version_created_at=self.created_at,
        )


@dataclass(frozen=True)
class FeatureAt:
    """A feature at a layer version: the version's storage and the revision in force
    then (None: the feature did not exist at that version)."""

    version: VersionRow
    revision: FeatureRevision | None


async def revisions(
    conn: psycopg.AsyncConnection[Any], layer_id: str, fid: int
) -> list[FeatureRevision]:
    """Every revision of feature ``fid``, newest first (ingests and edits on one line)."""
    params = {"layer": layer_id, "fid": fid, "schema": DATA_SCHEMA}
    async with conn.cursor(row_factory=dict_row) as cur:
        edits = await (await cur.execute(EDITS_SQL, params)).fetchall()
        tables = await (await cur.execute(TABLES_SQL, params)).fetchall()
    found = [_edit(row) for row in edits]
    for table in tables:
        ingest = await _ingest(conn, table, fid, edits)
        if ingest is not None:
            found.append(ingest)
    return sorted(found, key=lambda r: r.version, reverse=True)


def _edit(row: dict[str, Any]) -> FeatureRevision:
    return FeatureRevision(
        version=row["version"],
        operation=row["operation"],
        modified_at=row["modified_at"],
        actor_kind=row["actor_kind"],
        actor_subject=row["actor_subject"],
        table_name=row["table_name"],
        state=row["after"],
        removed=row["before"] if row["operation"] == "delete" else None,
        request_id=row["request_id"],
        reverted_to=row["reverted_to"],
    )


async def _ingest(
    conn: psycopg.AsyncConnection[Any], table: dict[str, Any], fid: int, edits: list[Any]
) -> FeatureRevision | None:
    """The feature as the version that made ``table`` wrote it, if it held the feature:
    the ``before`` of the table's first edit of it, else its row as it is."""
    own = [e for e in edits if e["table_name"] == table["table_name"]]
    if own:
        state = own[-1]["before"]  # edits are newest first: the last is the first edit
    elif table["present"]:
        state = await live_state(conn, table["table_name"], fid)
    else:
        state = None
    if state is None:
        return None
    return FeatureRevision(
        version=table["version"],
        operation=INGEST,
        modified_at=table["created_at"],
        actor_kind="publisher",
        actor_subject=table["created_by"] or "",
        table_name=table["table_name"],
        state=state,
    )


async def live_state(
    conn: psycopg.AsyncConnection[Any], table_name: str, fid: int
) -> dict[str, Any] | None:
    """The row of ``fid`` in ``table_name`` as the edit record keeps features."""
    statement = sql.SQL(
        "SELECT jsonb_build_object('type', 'Feature', 'id', t.fid, "
        "'geometry', ST_AsGeoJSON(t.geom)::jsonb, "
        "'properties', to_jsonb(t) - 'fid' - 'geom') FROM {} AS t WHERE t.fid = %s"
    ).format(sql.Identifier(DATA_SCHEMA, table_name))
    row = await (await conn.execute(statement, (fid,))).fetchone()
    return None if row is None else dict(row[0])


async def version_row(
    conn: psycopg.AsyncConnection[Any], layer_id: str, version: int
) -> VersionRow:
    """Layer version ``version`` (404 when the layer has no such version)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        params = {"layer": layer_id, "version": version}
        row = await (await cur.execute(VERSION_SQL, params)).fetchone()
    if row is None:
        raise NotFound(
            f"collection '{layer_id}' has no version {version}; a feature's versions are "
            "listed at its /versions"
        )
    return VersionRow(
        version=row["version"],
        table_name=row["table_name"],
        storage_srid=row["storage_srid"],
        geometry_type=row["geometry_type"],
        fields=tuple(FieldInfo.from_json(f) for f in row["field_schema"] or ()),
        created_at=row["created_at"],
    )


async def version_at(conn: psycopg.AsyncConnection[Any], layer_id: str, at: datetime) -> int | None:
    """The layer version made last at or before ``at`` (None: the layer was younger).

    A rollback makes an older version current again without a new row, so after one this
    names the newest version made by then, not the one that was being served."""
    row = await (await conn.execute(VERSION_AT_SQL, {"layer": layer_id, "at": at})).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def in_force(history: list[FeatureRevision], version: VersionRow) -> FeatureRevision | None:
    """The revision giving the feature's state at ``version``: the newest one up to it in
    that version's table; None when that table did not hold the feature then."""
    for revision in history:  # newest first
        if revision.table_name == version.table_name and revision.version <= version.version:
            return revision if revision.exists else None
    return None


async def feature_at(
    conn: psycopg.AsyncConnection[Any], layer_id: str, history: list[FeatureRevision], version: int
) -> FeatureAt:
    row = await version_row(conn, layer_id, version)
    return FeatureAt(row, in_force(history, row))


def rendered_sql(layer: Layer, item: sql.Composable, *, clipped: bool) -> sql.Composed:
    """``item`` (a feature expression of ``layer``'s plan) over kept states instead of the
    table: one row per element of a JSON array bound as the first placeholder, in order,
    NULL where a clipped caller (second placeholder: the area) may not see the state."""
    table = sql.Identifier(DATA_SCHEMA, layer.table_name)
    inner = sql.SQL("SELECT {} FROM jsonb_populate_record(NULL::{}, d.doc) AS t").format(
        item, table
    )
    if clipped:
        inner += sql.SQL(" WHERE ST_Intersects(t.geom, %(area)s::geometry)")
    return sql.SQL(
        "SELECT ({}) FROM jsonb_array_elements(%(docs)s) WITH ORDINALITY AS d(doc, n) ORDER BY n"
    ).format(inner)


def as_record(state: dict[str, Any], srid: int) -> dict[str, Any]:
    """A kept GeoJSON state as the JSON of a table row (``jsonb_populate_record`` reads the
    geometry as EWKT)."""
    properties = dict(state.get("properties") or {})
    geometry = state.get("geometry")
    properties["fid"] = state.get("id")
    properties["geom"] = _ewkt(geometry, srid) if geometry else None
    return properties


def _ewkt(geometry: dict[str, Any], srid: int) -> str:
    return f"SRID={srid};{shapely.geometry.shape(geometry).wkt}"


def restored_values(layer: Layer, state: dict[str, Any]) -> Values:
    """What a revert writes to bring back ``state``: its properties checked against the
    layer's fields now (a field an older ingest had and the layer lost is a 422 naming
    it) and its geometry as kept (already in the storage CRS and repaired)."""
    properties = checked_properties(dict(state.get("properties") or {}), layer)
    geometry = shapely.geometry.shape(state["geometry"])
    box = [float(v) for v in geometry.bounds]
    return Values(properties, shapely.to_wkb(geometry), (box[0], box[1], box[2], box[3]), {})


async def visible(
    conn: psycopg.AsyncConnection[Any],
    history: list[FeatureRevision],
    area: bytes | None,
    srid: int,
) -> list[FeatureRevision]:
    """The revisions an area-limited caller may know of: those whose state (a delete's
    last state) intersects their ``area``; all of them for everyone else."""
    if area is None or not history:
        return history
    geometries = [(r.state or r.removed or {}).get("geometry") for r in history]
    statement = (
        b"SELECT COALESCE(ST_Intersects(ST_SetSRID(ST_GeomFromGeoJSON(g), %(srid)s),"
        b" %(area)s::geometry), false)"
        b" FROM jsonb_array_elements(%(geoms)s) WITH ORDINALITY AS d(g, n) ORDER BY n"
    )
    params = {"geoms": Jsonb(geometries), "area": area, "srid": srid}
    rows = await (await conn.execute(statement, params)).fetchall()
    return [r for r, (seen,) in zip(history, rows, strict=True) if seen]


async def render_states(
    conn: psycopg.AsyncConnection[Any],
    layer: Layer,
    item: sql.Composable,
    states: list[dict[str, Any]],
    area: bytes | None,
) -> list[str | None]:
    """Each state as the feature text ``item`` renders (None: outside ``area``)."""
    if not states:
        return []
    statement = rendered_sql(layer, item, clipped=area is not None)
    docs = Jsonb([as_record(s, layer.storage_srid) for s in states])
    params: dict[str, Any] = {"docs": docs} if area is None else {"docs": docs, "area": area}
    rows = await (await conn.execute(statement, params)).fetchall()
    return [None if row[0] is None else str(row[0]) for row in rows]
