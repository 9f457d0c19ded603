"""Feature queries whose GeoJSON the database renders.

PostGIS writes each feature's JSON text and ``string_agg`` joins a page, so the
service never parses or re-serialises features; the SQL is composed from catalog
names (``sql.Identifier``) and every request value is bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from layers.catalog import Layer

DATA_SCHEMA = "onemap_data"
DEGREE_DECIMALS = 7  # ~1 cm at Guangdong's latitude
METRE_DECIMALS = 2


@dataclass(frozen=True)
class ItemsQuery:
    """What a client asked of a collection's items, already validated."""

    limit: int
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None  # lon/lat, storage CRS
    equals: Sequence[tuple[str, Any]] = field(default_factory=tuple)


def table_of(layer: Layer) -> sql.Identifier:
    return sql.Identifier(DATA_SCHEMA, layer.table_name)


def feature_json_sql(layer: Layer, decimals: int = DEGREE_DECIMALS) -> sql.Composed:
    """An expression giving one row's GeoJSON Feature as text."""
    pairs = sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(f.name), sql.Identifier(f.name)) for f in layer.fields
    )
    return sql.SQL(
        '\'{{"type":"Feature","id":\' || fid || \',"geometry":\' || '
        "COALESCE(ST_AsGeoJSON(geom, {decimals}, 0), 'null') || ',\"properties\":' || "
        "json_build_object({pairs})::text || '}}'"
    ).format(decimals=sql.Literal(decimals), pairs=pairs)


def where_sql(layer: Layer, query: ItemsQuery) -> tuple[sql.Composable, list[Any]]:
    clauses: list[sql.Composable] = []
    params: list[Any] = []
    if query.bbox is not None:
        clauses.append(
            sql.SQL("geom && ST_MakeEnvelope(%s, %s, %s, %s, {})").format(
                sql.Literal(layer.storage_srid)
            )
        )
        params.extend(query.bbox)
    for name, value in query.equals:
        clauses.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        params.append(value)
    if not clauses:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params


def items_page_sql(layer: Layer, query: ItemsQuery) -> tuple[sql.Composed, list[Any]]:
    """One row: (features JSON array text, number returned)."""
    where, params = where_sql(layer, query)
    statement = sql.SQL(
        "SELECT '[' || COALESCE(string_agg(feature, ',' ORDER BY fid), '') || ']', count(*) "
        "FROM (SELECT fid, {feature} AS feature FROM {table}{where} "
        "ORDER BY fid LIMIT %s OFFSET %s) AS page"
    ).format(feature=feature_json_sql(layer), table=table_of(layer), where=where)
    return statement, [*params, query.limit, query.offset]


def count_sql(layer: Layer, query: ItemsQuery) -> tuple[sql.Composed, list[Any]] | None:
    """A count query, or None when the catalog already knows the exact count."""
    where, params = where_sql(layer, query)
    if not params:
        return None
    statement = sql.SQL("SELECT count(*) FROM {table}{where}").format(
        table=table_of(layer), where=where
    )
    return statement, params


def feature_sql(layer: Layer) -> sql.Composed:
    return sql.SQL("SELECT {feature} FROM {table} WHERE fid = %s").format(
        feature=feature_json_sql(layer), table=table_of(layer)
    )
