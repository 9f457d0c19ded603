"""Part 3 wiring: a layer's queryables and the request's CQL2 / property filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from psycopg import sql

from layers.catalog import Layer
from layers.cql2 import (
    Queryable,
    compile_filter,
    parse_filter,
    query_parameters_filter,
)
from layers.cql2.queryables import GeometryType, QueryableType
from layers.crs import CRS84, FilterCrs
from layers.errors import InvalidParameter
from layers.features.render import GEOMETRY_COLUMN

GEOMETRY_QUERYABLE = "geometry"


def layer_queryables(layer: Layer) -> dict[str, Queryable]:
    """Every attribute field, plus the geometry, is queryable."""
    found = {
        f.name: Queryable(f.name, f.name, cast(QueryableType, f.type), title=f.title or None)
        for f in layer.fields
    }
    geometry_type = (layer.geometry_type or "any").lower()
    found[GEOMETRY_QUERYABLE] = Queryable(
        GEOMETRY_QUERYABLE,
        GEOMETRY_COLUMN,
        "geometry",
        title="几何 / Geometry",
        geometry_type=cast(
            GeometryType, geometry_type if geometry_type in _GEOMETRY_TYPES else "any"
        ),
    )
    return found


_GEOMETRY_TYPES = {
    "point", "multipoint", "linestring", "multilinestring", "polygon", "multipolygon",
    "geometrycollection",
}  # fmt: skip


def split_prefix_parameters(
    parameters: Mapping[str, str], queryables: Mapping[str, Queryable]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """``adcode=4403*``: string queryables whose value ends in ``*`` become prefixes."""
    equal: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    for name, value in parameters.items():
        queryable = queryables.get(name)
        if queryable is not None and queryable.type == "string" and value.endswith("*"):
            prefixes.append((queryable.column, value[:-1]))
        else:
            equal[name] = value
    return equal, prefixes


def request_condition(
    layer: Layer,
    queryables: Mapping[str, Queryable],
    equalities: Mapping[str, str],
    filter_text: str | None,
    filter_lang: str | None,
    filter_crs: FilterCrs | None,
) -> sql.Composable | None:
    """The AND of ``?queryable=value`` equalities and the CQL2 ``filter``, compiled."""
    parts: list[sql.Composable] = []
    equality_tree = query_parameters_filter(equalities, queryables)
    if equality_tree is not None:
        parts.append(_compile(equality_tree, "cql2-text", layer, queryables))
    if filter_text is not None:
        lang = filter_lang or "cql2-text"
        crs = filter_crs or CRS84
        tree = parse_filter(filter_text, lang)  # cql2-json text is decoded by its parser
        parts.append(_compile(tree, lang, layer, queryables, crs.srid, crs.lat_first))
    elif filter_lang is not None or filter_crs is not None:
        raise InvalidParameter("filter-lang and filter-crs need a filter parameter")
    if not parts:
        return None
    return sql.SQL(" AND ").join(parts)


def _compile(
    tree: Any,
    lang: str,
    layer: Layer,
    queryables: Mapping[str, Queryable],
    srid: int = 4326,
    lat_first: bool = False,
) -> sql.Composable:
    return compile_filter(
        tree,
        lang,
        queryables,
        geometry_column=GEOMETRY_COLUMN,
        storage_srid=layer.storage_srid,
        filter_srid=srid,
        filter_lat_first=lat_first,
    )
