"""Roll-up: county layers of one theme seen as one city layer and one province layer.

Nothing is copied: a roll-up version is a view that unions the members' current
version tables. Feature ids are unique across all layer tables (one sequence), so the
union keeps every member's primary key and spatial index usable. Each refresh is a new
version of the roll-up layer, so caches keyed by version see the change at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from layers.catalog import SQL_TYPES, FieldInfo
from layers.catalog_write import LayerMeta, VersionRecord, make_current, reserve_version, sql_text
from layers.platform import DATA_SCHEMA
from layers.versions import replace_stable_view

LEVEL_NAMES = {"city": ("市级汇总", "city roll-up"), "province": ("省级汇总", "province roll-up")}


def rollup_targets(county_adcode: str) -> list[tuple[str, str, str]]:
    """(level, adcode, LIKE prefix) of the city and province above a county."""
    return [
        ("city", county_adcode[:4] + "00", county_adcode[:4] + "%"),
        ("province", county_adcode[:2] + "0000", county_adcode[:2] + "%"),
    ]


def refresh_rollups_for_layer(conn: psycopg.Connection, layer_id: str) -> list[str]:
    """After a county layer of a theme changes version, refresh its roll-ups."""
    row = conn.execute(sql_text("county_theme"), {"layer": layer_id}).fetchone()
    return refresh_rollups(conn, row[0], row[1]) if row else []


def refresh_rollups(conn: psycopg.Connection, theme: str, county_adcode: str) -> list[str]:
    """Publish new versions of the roll-ups a county layer belongs to; return their ids."""
    refreshed = []
    for level, adcode, prefix in rollup_targets(county_adcode):
        members = _members(conn, theme, prefix)
        if members:
            refreshed.append(_publish_rollup(conn, theme, level, adcode, members))
    return refreshed


@dataclass(frozen=True)
class RollupChanges:
    """What a member's leaving did to the roll-ups that read it: ``refreshed`` without it,
    or ``emptied`` (it was their last member: they are to be removed)."""

    refreshed: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)


def rollups_without(conn: psycopg.Connection, member: str) -> RollupChanges:
    """After the layer ``member`` left the catalog (a delete, in this transaction): every
    roll-up with a version that reads it — those above it, and any it left by changing its
    theme or code — is rebuilt from the members it has now, or emptied; and the roll-ups'
    older versions that read it are dropped (``prune_rollup_versions``), so its tables can
    go too."""
    changes = RollupChanges()
    reading = conn.execute(sql_text("rollups_reading"), {"member": member}).fetchall()
    for rollup_id, theme, level, adcode, _ in reading:
        members = _members(conn, theme, rollup_prefix(level, adcode))
        if members:
            changes.refreshed.append(_publish_rollup(conn, theme, level, adcode, members))
        else:
            changes.emptied.append(rollup_id)
    pruned = conn.execute(sql_text("prune_rollup_versions"), {"member": member}).fetchall()
    for name, is_view in pruned:
        kind = sql.SQL("VIEW" if is_view else "TABLE")
        conn.execute(sql.SQL("DROP {} IF EXISTS {}").format(kind, _data(name)))
    return changes


def rollup_prefix(level: str, adcode: str) -> str:
    """The LIKE pattern of the county codes a city or province roll-up gathers."""
    return (adcode[:4] if level == "city" else adcode[:2]) + "%"


def rollup_member_ids(conn: psycopg.Connection, theme: str, level: str, adcode: str) -> list[str]:
    """The county layers a roll-up of ``level`` (city, province) and code is built from."""
    return [str(m["id"]) for m in _members(conn, theme, rollup_prefix(level, adcode))]


def _members(conn: psycopg.Connection, theme: str, prefix: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql_text("rollup_members"), {"theme": theme, "prefix": prefix})
        return cur.fetchall()


def _data(name: str) -> sql.Identifier:
    return sql.Identifier(DATA_SCHEMA, name)


def _publish_rollup(
    conn: psycopg.Connection, theme: str, level: str, adcode: str, members: list[dict[str, Any]]
) -> str:
    layer_id = f"{theme}-{adcode}"
    version, exists = reserve_version(conn, layer_id, None)
    view_name = f"{layer_id.replace('-', '_')}_v{version}"
    fields = union_fields(members)
    conn.execute(_view_sql(view_name, fields, members))
    record = VersionRecord(
        layer_id=layer_id,
        version=version,
        table_name=view_name,
        fields=[*fields, FieldInfo("source_layer", "string", "source_layer", "来源图层")],
        geometry_type=_common(m["geometry_type"] for m in members) or "Geometry",
        extent=_union_extent([m["extent"] for m in members]),
        feature_count=sum(int(m["feature_count"]) for m in members),
        lineage={
            "rollup_of": theme,
            "members": [{"id": m["id"], "version": m["version"]} for m in members],
        },
    )
    _shared_time(record, fields, members)
    make_current(conn, _meta(layer_id, theme, level, adcode, members), record, layer_exists=exists)
    replace_stable_view(conn, layer_id, view_name)
    return layer_id


def _shared_time(
    record: VersionRecord, fields: list[FieldInfo], members: list[dict[str, Any]]
) -> None:
    """A roll-up is time-enabled when every member uses the same, still typed, time column."""
    columns = {(m["temporal_field"], m["temporal_end_field"]) for m in members}
    types = {f.name: f.type for f in fields}
    if len(columns) != 1:
        return
    start, end = columns.pop()
    if start is None or any(
        types.get(c) not in ("date", "timestamp") for c in (start, end or start)
    ):
        return
    record.temporal_field, record.temporal_end_field = start, end
    starts = [m["temporal_start"] for m in members if m["temporal_start"] is not None]
    ends = [m["temporal_end"] for m in members if m["temporal_end"] is not None]
    record.temporal_start, record.temporal_end = min(starts, default=None), max(ends, default=None)


def union_fields(members: Sequence[Mapping[str, Any]]) -> list[FieldInfo]:
    """Every member's fields once; a name typed differently by two members becomes text."""
    merged: dict[str, FieldInfo] = {}
    for member in members:
        for item in member["field_schema"]:
            found = FieldInfo.from_json(item)
            seen = merged.get(found.name)
            if seen is None:
                merged[found.name] = found
            elif seen.type != found.type:
                merged[found.name] = FieldInfo(seen.name, "string", seen.source_name, seen.title)
    return list(merged.values())


def _view_sql(
    view_name: str, fields: list[FieldInfo], members: list[dict[str, Any]]
) -> sql.Composed:
    branches = [_branch(fields, m) for m in members]
    return sql.SQL("CREATE VIEW {} AS {}").format(
        sql.Identifier(DATA_SCHEMA, view_name), sql.SQL(" UNION ALL ").join(branches)
    )


def _branch(fields: list[FieldInfo], member: Mapping[str, Any]) -> sql.Composed:
    own = {f["name"]: f["type"] for f in member["field_schema"]}
    columns = []
    for f in fields:
        cast = sql.SQL(SQL_TYPES[f.type])
        value = sql.Identifier(f.name) if f.name in own else sql.SQL("NULL")
        columns.append(sql.SQL("{}::{} AS {}").format(value, cast, sql.Identifier(f.name)))
    return sql.SQL("SELECT fid, {}, {}::text AS source_layer, geom FROM {}").format(
        sql.SQL(", ").join(columns),
        sql.Literal(member["id"]),
        sql.Identifier(DATA_SCHEMA, member["table_name"]),
    )


def _common(values: Any) -> str | None:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def _union_extent(extents: list[list[float] | None]) -> list[float] | None:
    boxes = [e for e in extents if e]
    if not boxes:
        return None
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def _meta(
    layer_id: str, theme: str, level: str, adcode: str, members: list[dict[str, Any]]
) -> LayerMeta:
    first = members[0]
    zh, en = LEVEL_NAMES[level]
    return LayerMeta(
        id=layer_id,
        title_zh=f"{theme}（{zh} {adcode}）",
        title_en=f"{theme} ({en} {adcode})",
        description_zh=f"{len(members)} 个县级图层的汇总视图，不复制数据。",
        description_en=f"A view over {len(members)} county layers of theme '{theme}'; no copy.",
        level=level,
        adcode=adcode,
        department_id=first["department_id"],
        keywords=[theme, "roll-up", "汇总"],
        license=first["license"],
        attribution="; ".join(sorted({m["attribution"] for m in members if m["attribution"]})),
        access_level=_strictest(m["access_level"] for m in members),
        metadata={"rollup_of": theme, "members": [m["id"] for m in members]},
        theme=theme,
        rollup_of=theme,
    )


def _strictest(levels: Any) -> str:
    order = ["public", "internal", "restricted"]
    return str(max(levels, key=order.index))
