"""SQL conditions the analyses share."""

from __future__ import annotations

import shapely
from psycopg import sql

from layers.features.where import area_condition
from layers.platform import STORAGE_SRID


def inside_area(within: shapely.Geometry) -> sql.Composed:
    """Rows whose geometry lies in ``within`` (touching its edge only does not count).

    The area is a bound literal (WKB), like the values of a compiled CQL2 filter.
    """
    area = sql.SQL("ST_GeomFromWKB({}, {})").format(
        sql.Literal(shapely.to_wkb(within)), sql.Literal(STORAGE_SRID)
    )
    return sql.SQL("ST_Intersects(geom, {a}) AND NOT ST_Touches(geom, {a})").format(a=area)


def row_conditions(
    condition: sql.Composable | None,
    within: shapely.Geometry | None,
    clip: bytes | None = None,
) -> list[sql.Composable]:
    """A compiled filter and/or an area, as a list to join with AND — and the clip of an
    area-limited caller (``Context.clip``: EWKB of their areas), which every read of a
    published layer by an analysis passes here, so no input read forgets it."""
    conditions: list[sql.Composable] = [] if condition is None else [condition]
    if within is not None:
        conditions.append(inside_area(within))
    if clip is not None:  # the same rule as items and tiles (layers.features.where)
        conditions.append(area_condition(sql.Identifier("geom"), sql.Literal(clip)))
    return conditions
