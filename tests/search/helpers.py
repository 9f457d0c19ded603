"""Fixture layers for the search tests, published through ``layers.catalog_write``, and
searches run through ``layers.search`` directly (no app)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg import sql

from layers.catalog import FieldInfo, Layer, load_catalog
from layers.features.query import AdminArea
from layers.platform import admin_layers
from layers.search.execute import Hit, Target, run_search
from layers.search.fields import adcode_field, admin_level, search_field
from layers.search.index import build_search_table
from layers.search.params import search_request
from tests.helpers.catalog import fixture_meta, register_table

NAME_FIELDS = [FieldInfo("name", "string", "名称", "名称")]
ADMIN = admin_layers()


def large_names_sql(table: str, rows: int) -> str:
    """``rows`` points named in three patterns: 天河路<n>号 (a prefix), 东风<n>天河花园 (the
    same words inside), 白云<n>站 (neither)."""
    return f"""
    CREATE TABLE onemap_data.{table} (
        fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
        name text, geom geometry(Point, 4490));
    INSERT INTO onemap_data.{table} (name, geom)
    SELECT CASE n % 3 WHEN 0 THEN '天河路' || n || '号' WHEN 1 THEN '东风' || n || '天河花园'
                ELSE '白云' || n || '站' END,
           ST_SetSRID(ST_MakePoint(113 + (n % 1000) * 0.001, 23 + (n / 1000) * 0.001), 4490)
    FROM generate_series(1, {rows}) AS n;
    ANALYZE onemap_data.{table}
    """


def publish_names(url: str, layer_id: str, table: str, rows: int) -> None:
    with psycopg.connect(url) as conn:
        for statement in large_names_sql(table, rows).split(";\n"):
            conn.execute(statement.encode())
        register_table(conn, fixture_meta(layer_id, "地名", "Names"), table, NAME_FIELDS, "Point")


def layer_in(url: str, layer_id: str) -> Layer:
    with psycopg.connect(url) as conn:
        return load_catalog(conn).layers[layer_id]


def target(layer: Layer, table: str | None) -> Target:
    field = search_field(layer)
    assert field is not None
    return Target(layer, field.name, adcode_field(layer, ADMIN), admin_level(layer, ADMIN), table)


def build(url: str, layer: Layer) -> str:
    """Build ``layer``'s search table; returns its name."""
    found = search_field(layer)
    assert found is not None

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await build_search_table(conn, layer, found.name, adcode_field(layer, ADMIN))

    asyncio.run(run())
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT table_name FROM onemap.search_indexes WHERE layer_id = %s AND version = %s",
            (layer.id, layer.version),
        ).fetchone()
    assert row is not None, f"no search table registered for {layer.id}"
    return str(row[0])


def search(
    url: str, targets: list[Target], area: AdminArea | None = None, **parameters: Any
) -> list[Hit]:
    wanted = search_request({k: str(v) for k, v in parameters.items()})

    async def run() -> list[Hit]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await run_search(conn, targets, wanted, area)

    return asyncio.run(run())


def explain(url: str, table: str, pattern: str) -> str:
    query = sql.SQL("EXPLAIN SELECT fid FROM {} WHERE key LIKE %s").format(
        sql.Identifier("onemap_search", table)
    )
    with psycopg.connect(url) as conn:
        return "\n".join(row[0] for row in conn.execute(query, (pattern,)))
