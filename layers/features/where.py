"""The WHERE clause of an items request: bbox, datetime, q, within, prefixes, CQL2.

Every request value goes through a ``Binder``; names are catalog identifiers.
"""

from __future__ import annotations

from psycopg import sql

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features.query import AdminArea, BBox, ItemsQuery, TimeRange
from layers.features.render import DATA_SCHEMA, GEOMETRY_COLUMN, Binder

GEOM = sql.Identifier(GEOMETRY_COLUMN)


def conditions(layer: Layer, query: ItemsQuery, binder: Binder) -> list[sql.Composable]:
    """Every selection condition of the request (paging conditions excluded)."""
    found: list[sql.Composable] = []
    if query.bbox is not None:
        found.append(bbox_condition(layer, query.bbox, binder))
    if query.time is not None and layer.temporal_field:
        found.append(time_condition(layer.temporal_field, query.time, binder))
    if query.text:
        found.append(text_condition(layer, query.text, binder))
    if query.within is not None:
        found.append(within_condition(query.within, binder))
    for name, prefix in query.prefixes:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found.append(sql.SQL("{} LIKE {}").format(sql.Identifier(name), binder.value(pattern)))
    if query.condition is not None:
        found.append(query.condition)
    return found


def where_clause(parts: list[sql.Composable]) -> sql.Composable:
    if not parts:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts)


def bbox_condition(layer: Layer, bbox: BBox, binder: Binder) -> sql.Composable:
    """Features intersecting the box; a geographic box with west > east crosses ±180°."""
    a, b, c, d = bbox.bounds
    # Back to x/y (longitude/easting first), the order PostGIS works in.
    minx, miny, maxx, maxy = (b, a, d, c) if bbox.crs.swap_axes else (a, b, c, d)
    if miny > maxy or (minx > maxx and not bbox.crs.geographic):
        raise InvalidParameter("bbox: a minimum exceeds its maximum")
    if bbox.crs.geographic and not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidParameter("bbox latitudes must lie within -90..90")
    if minx > maxx:  # antimeridian: two boxes, east and west of it
        boxes = [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    else:
        boxes = [(minx, miny, maxx, maxy)]
    tests = [_intersects_box(layer, box, bbox, binder) for box in boxes]
    return tests[0] if len(tests) == 1 else sql.SQL("({})").format(sql.SQL(" OR ").join(tests))


def _intersects_box(
    layer: Layer, box: tuple[float, float, float, float], bbox: BBox, binder: Binder
) -> sql.Composable:
    same = bbox.crs.same_as_storage or bbox.crs.srid == layer.storage_srid
    envelope = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
        *(binder.value(float(v)) for v in box),
        sql.Literal(layer.storage_srid if same else bbox.crs.srid),
    )
    if not same:
        envelope = sql.SQL("ST_Transform({}, {})").format(envelope, sql.Literal(layer.storage_srid))
    return sql.SQL("ST_Intersects({}, {})").format(GEOM, envelope)


def time_condition(column: str, time: TimeRange, binder: Binder) -> sql.Composable:
    ident = sql.Identifier(column)
    parts: list[sql.Composable] = []
    if time.start is not None:
        parts.append(sql.SQL("{} >= {}").format(ident, binder.value(time.start)))
    if time.end is not None:
        op = sql.SQL("<") if time.end_exclusive else sql.SQL("<=")
        parts.append(sql.SQL("{} {} {}").format(ident, op, binder.value(time.end)))
    if not parts:  # ".." / "..": any feature with a time
        parts.append(sql.SQL("{} IS NOT NULL").format(ident))
    return sql.SQL("({})").format(sql.SQL(" AND ").join(parts))


def name_fields(layer: Layer) -> tuple[str, ...]:
    """String fields that hold names (name, *_name, *mc, or titled 名称/名)."""
    return tuple(
        f.name
        for f in layer.fields
        if f.type == "string"
        and ("name" in f.name or f.name.endswith("mc") or "名" in (f.title or ""))
    )


def text_condition(layer: Layer, terms: tuple[str, ...], binder: Binder) -> sql.Composable:
    """``q``: any term occurs (case-insensitively) in any name field."""
    fields = name_fields(layer)
    if not fields:
        raise InvalidParameter(f"collection '{layer.id}' has no name fields to search with q")
    tests = []
    for term in terms:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        for name in fields:
            tests.append(sql.SQL("{} ILIKE {}").format(sql.Identifier(name), binder.value(pattern)))
    return sql.SQL("({})").format(sql.SQL(" OR ").join(tests))


def admin_geometry(area: AdminArea, binder: Binder) -> sql.Composable:
    return sql.SQL("(SELECT a.{geom} FROM {table} AS a WHERE a.adcode = {code} LIMIT 1)").format(
        geom=GEOM, table=sql.Identifier(DATA_SCHEMA, area.table), code=binder.value(area.adcode)
    )


def within_condition(area: AdminArea, binder: Binder) -> sql.Composable:
    """A feature is within an area when its point on surface is: one area per feature."""
    return sql.SQL(
        "({geom} && {area} AND ST_Intersects({area2}, ST_PointOnSurface({geom})))"
    ).format(geom=GEOM, area=admin_geometry(area, binder), area2=admin_geometry(area, binder))


def admin_exists_sql(area: AdminArea) -> tuple[sql.Composed, list[str]]:
    statement = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE adcode = %s)").format(
        sql.Identifier(DATA_SCHEMA, area.table)
    )
    return statement, [area.adcode]
