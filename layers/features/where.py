"""The WHERE clause of an items request: bbox, datetime, q, within, prefixes, CQL2, and
the area clip of an area-limited caller (``area_condition``, which tiles and
GetFeatureInfo use too).

Every request value goes through a ``Binder``; names are catalog identifiers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from psycopg import sql

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features.query import AdminArea, BBox, ItemsQuery, TimeRange
from layers.features.render import GEOMETRY_COLUMN, Binder
from layers.platform import DATA_SCHEMA

GEOM = sql.Identifier(GEOMETRY_COLUMN)


def conditions(layer: Layer, query: ItemsQuery, binder: Binder) -> list[sql.Composable]:
    """Every selection condition of the request (paging conditions excluded)."""
    found: list[sql.Composable] = []
    if query.bbox is not None:
        found.append(bbox_condition(layer, query.bbox, binder))
    if query.time is not None and layer.temporal_field:
        found.append(time_condition(layer, query.time, binder))
    if query.text:
        found.append(text_condition(layer, query.text, binder))
    if query.within is not None:
        found.append(within_condition(query.within, binder))
    for name, prefix in query.prefixes:
        pattern = like_escape(prefix) + "%"
        found.append(sql.SQL("{} LIKE {}").format(sql.Identifier(name), binder.value(pattern)))
    if query.condition is not None:
        found.append(query.condition)
    if query.clip is not None:
        found.append(area_condition(GEOM, binder.value(query.clip.geometry)))
    return found


def like_escape(text: str) -> str:
    """``text`` as a literal part of a LIKE pattern (its ``\\``, ``%`` and ``_`` escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def area_condition(geometry: sql.Composable, area: sql.Composable) -> sql.Composable:
    """A feature is inside an area-limited caller's areas when it intersects their union
    (``area``: EWKB bytes, bound)."""
    return sql.SQL("ST_Intersects({}, {}::geometry)").format(geometry, area)


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


def time_condition(layer: Layer, time: TimeRange, binder: Binder) -> sql.Composable:
    """Features whose time meets ``time`` (OGC API Features Part 1 ``datetime``).

    An instant field matches when it lies in the range; a start/end pair when its
    interval intersects the range, a NULL end (or start) being open. A date field is
    the whole day (UTC), so a date matches any range that touches that day.
    """
    start_field = layer.temporal_field or ""
    end_field = layer.temporal_end_field or start_field
    start = _bound(layer, start_field, time.start, is_end=False)
    end = _bound(layer, end_field, time.end, is_end=True, exclusive=time.end_exclusive)
    parts: list[sql.Composable] = []
    open_ended = layer.temporal_end_field is not None
    if time.end is not None:  # the feature starts before the range ends
        parts.append(_compare(start_field, end[1], end[0], binder, nullable=open_ended))
    if time.start is not None:  # and ends after it starts
        parts.append(_compare(end_field, ">=", start[0], binder, nullable=open_ended))
    present = [sql.SQL("{} IS NOT NULL").format(sql.Identifier(start_field))]
    if open_ended:
        present.append(sql.SQL("{} IS NOT NULL").format(sql.Identifier(end_field)))
    parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(present)))
    return sql.SQL("({})").format(sql.SQL(" AND ").join(parts))


def _compare(
    column: str, op: str, value: date | datetime, binder: Binder, *, nullable: bool
) -> sql.Composable:
    test = sql.SQL("{} {} {}").format(sql.Identifier(column), sql.SQL(op), binder.value(value))
    if not nullable:
        return test
    return sql.SQL("({} IS NULL OR {})").format(sql.Identifier(column), test)


def _bound(
    layer: Layer,
    column: str,
    value: date | datetime | None,
    *,
    is_end: bool,
    exclusive: bool = False,
) -> tuple[date | datetime, str]:
    """The value and operator a range end is compared with, for ``column``'s type.

    A date column compares with UTC dates: a day meets a range that starts before the
    day ends and ends on or after the day starts.
    """
    op = ("<" if exclusive else "<=") if is_end else ">="
    if value is None:
        return datetime.min.replace(tzinfo=UTC), op
    found = layer.field(column)
    if found is None or found.type != "date" or not isinstance(value, datetime):
        return value, op
    day = value.astimezone(UTC)
    at_midnight = day.time() == datetime.min.time()
    if is_end:
        return day.date(), "<" if exclusive and at_midnight else "<="
    return day.date(), ">="


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
        pattern = f"%{like_escape(term)}%"
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
