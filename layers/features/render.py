"""SQL expressions that make PostGIS write each feature's bytes.

GeoJSON text is concatenated in the database (``ST_AsGeoJSON`` for the geometry,
``json_build_object`` for the properties), so the service never parses or
re-serialises a feature. Names come from the catalog as ``sql.Identifier``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from layers.catalog import FieldInfo, Layer
from layers.crs import CrsInfo
from layers.features.query import ItemsQuery
from layers.platform import DATA_SCHEMA

GEOMETRY_COLUMN = "geom"
JSON_BUILD_MAX_PAIRS = 50  # json_build_object takes at most 100 arguments


class Binder:
    """Request values as placeholders (bound, statement reusable) or as literals.

    A compiled CQL2 condition carries ``sql.Literal`` values, which may contain
    ``%``; psycopg would read those as placeholders, so such statements are
    sent with every value as a literal and no parameters at all.
    """

    def __init__(self, *, literal: bool) -> None:
        self.literal = literal
        self.params: dict[str, Any] = {}

    def value(self, value: Any) -> sql.Composable:
        """Named placeholders, so the order fragments are composed in does not matter."""
        if self.literal:
            return sql.Literal(value)
        name = f"p{len(self.params)}"
        self.params[name] = value
        return sql.Placeholder(name)

    @property
    def bound(self) -> dict[str, Any] | None:
        return None if self.literal else self.params


def table_of(layer: Layer) -> sql.Identifier:
    return sql.Identifier(DATA_SCHEMA, layer.table_name)


def selected_fields(layer: Layer, query: ItemsQuery) -> tuple[FieldInfo, ...]:
    if query.properties is None:
        return layer.fields
    wanted = set(query.properties)
    return tuple(f for f in layer.fields if f.name in wanted)


def geometry_in(layer: Layer, crs: CrsInfo, map_detail: int | None = None) -> sql.Composable:
    """The stored geometry moved to ``crs`` and put in that CRS's axis order.

    With ``map_detail`` n (a drawn map), it is first simplified (Douglas-Peucker) to 1/n
    of its own extent: a feature the map shows n/2 pixels across keeps half-pixel detail.
    """
    geometry: sql.Composable = sql.Identifier(GEOMETRY_COLUMN)
    if map_detail:
        geometry = sql.SQL(
            "ST_Simplify({g}, greatest(ST_XMax({g}) - ST_XMin({g}), ST_YMax({g}) - ST_YMin({g}))"
            " / {n})"
        ).format(g=geometry, n=sql.Literal(map_detail))
    if not (crs.same_as_storage or crs.srid == layer.storage_srid):
        geometry = sql.SQL("ST_Transform({}, {})").format(geometry, sql.Literal(crs.srid))
    if crs.swap_axes:
        geometry = sql.SQL("ST_FlipCoordinates({})").format(geometry)
    return geometry


def properties_json(fields: Sequence[FieldInfo]) -> sql.Composable:
    """A JSON object text of the fields, in catalog order."""
    if not fields:
        return sql.SQL("'{}'")
    parts = [
        sql.SQL("json_build_object({})::text").format(
            sql.SQL(", ").join(
                sql.SQL("{}, {}").format(sql.Literal(f.name), sql.Identifier(f.name))
                for f in fields[i : i + JSON_BUILD_MAX_PAIRS]
            )
        )
        for i in range(0, len(fields), JSON_BUILD_MAX_PAIRS)
    ]
    if len(parts) == 1:
        return parts[0]
    # Splice objects: drop the closing brace of each but the last and the opening of the rest.
    spliced: list[sql.Composable] = []
    for i, part in enumerate(parts):
        if i > 0:
            part = sql.SQL("right({}, -1)").format(part)
        if i < len(parts) - 1:
            part = sql.SQL("left({}, -1)").format(part)
        spliced.append(part)
    return sql.SQL(" || ',' || ").join(spliced)


def feature_json(layer: Layer, query: ItemsQuery) -> sql.Composable:
    """One row's GeoJSON Feature as text, for the query's output shape.

    The expression holds only catalog names and constants, so it is rendered to text
    here; ``FeaturePlan`` keeps it per shape (composing it per request cost about a
    millisecond).
    """
    return prerendered(_feature_json(layer, query))


def prerendered(composed: sql.Composed) -> sql.Composable:
    """Composed SQL as one literal text fragment, unless it holds a ``%`` (which psycopg
    would read as a placeholder); nothing in it may be bound."""
    text = composed.as_string(None)
    return composed if "%" in text else sql.SQL(text)


def _feature_json(layer: Layer, query: ItemsQuery) -> sql.Composed:
    if query.skip_geometry:
        geometry: sql.Composable = sql.SQL("'null'")
    else:
        geometry = sql.SQL("COALESCE(ST_AsGeoJSON({}, {}, 0), 'null')").format(
            geometry_in(layer, query.output_crs, query.map_detail),
            sql.Literal(query.output_crs.decimals),
        )
    return sql.SQL(
        '\'{{"type":"Feature","id":\' || {id} || \',"geometry":\' || {geometry} '
        "|| ',\"properties\":' || {properties} || '}}'"
    ).format(
        id=_id_json(layer),
        geometry=geometry,
        properties=properties_json(selected_fields(layer, query)),
    )


def _id_json(layer: Layer) -> sql.Composable:
    """A row's ``id``: its fid, or the layer's id field (``layers.features.ids``)."""
    if layer.id_field is None:
        return sql.SQL("fid")
    column = sql.Identifier(layer.id_field)
    return sql.SQL("COALESCE(to_json({})::text, fid::text)").format(column)


def csv_columns(layer: Layer, query: ItemsQuery) -> sql.Composable:
    """The select list of a CSV export: id, the fields, then the geometry as WKT."""
    columns: list[sql.Composable] = [sql.SQL("fid AS id")]
    columns += [sql.Identifier(f.name) for f in selected_fields(layer, query)]
    if not query.skip_geometry:
        columns.append(
            sql.SQL("ST_AsText({}, {}) AS wkt").format(
                geometry_in(layer, query.output_crs), sql.Literal(query.output_crs.decimals)
            )
        )
    return sql.SQL(", ").join(columns)
