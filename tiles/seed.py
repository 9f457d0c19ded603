"""Seeding: make (and cache) every tile of a layer over an area and a range of levels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from layers.catalog import Catalog
from layers.errors import InvalidParameter, NotFound
from layers.platform import DATA_SCHEMA, AdminLayers
from tiles import grids
from tiles.plan import TilePlan
from tiles.service import Tile, TileProducer


@dataclass(frozen=True)
class TileAddress:
    z: int
    row: int
    col: int


def parse_zoom(text: str) -> range:
    """'0-12' or '7' as a range of levels."""
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise InvalidParameter(f"--zoom must look like 0-12 or 7, got {text!r}") from None
    if low > high:
        raise InvalidParameter(f"--zoom {text!r}: the first level is above the last")
    return range(low, high + 1)


def parse_bbox(text: str) -> grids.Bounds:
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidParameter(f"--bbox must be west,south,east,north, got {text!r}") from None
    return west, south, east, north


def adcode_bounds(
    conn: psycopg.Connection, catalog: Catalog, pattern: str, admin: AdminLayers
) -> grids.Bounds:
    """The lon/lat extent of the administrative units whose code matches '4401*'
    (in ``admin``'s layers, counties first)."""
    like = pattern.replace("*", "%")
    for layer_id in admin.finest_first():
        layer = catalog.layers.get(layer_id)
        if layer is None or layer.field("adcode") is None:
            continue
        statement = sql.SQL(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM {} WHERE adcode LIKE %s) AS x"
        ).format(sql.Identifier(DATA_SCHEMA, layer.table_name))
        row = conn.execute(statement, [like]).fetchone()
        if row and row[0] is not None:
            return float(row[0]), float(row[1]), float(row[2]), float(row[3])
    raise NotFound(f"no administrative unit has a code matching {pattern!r}")


def tiles_in(tms_id: str, bbox: grids.Bounds, levels: range) -> Iterator[TileAddress]:
    for limits in grids.matrix_limits(tms_id, bbox, levels):
        z = int(limits.tile_matrix)
        for row in range(limits.min_row, limits.max_row + 1):
            for col in range(limits.min_col, limits.max_col + 1):
                yield TileAddress(z, row, col)


def count_tiles(tms_id: str, bbox: grids.Bounds, levels: range) -> int:
    return sum(
        (lim.max_row - lim.min_row + 1) * (lim.max_col - lim.min_col + 1)
        for lim in grids.matrix_limits(tms_id, bbox, levels)
    )


def maker(
    producer: TileProducer, plan: TilePlan, tms_id: str, fmt: str, scope: str
) -> Callable[[TileAddress], Awaitable[Tile]]:
    """The coroutine function making one tile in the requested format, as the callers of
    ``scope`` see it."""

    async def make(address: TileAddress) -> Tile:
        z, row, col = address.z, address.row, address.col
        if fmt == "png":
            return await producer.map_tile(plan, tms_id, z, row, col, scope=scope)
        return await producer.vector_tile(
            plan, tms_id, z, row, col, plan.layer.field_names, scope=scope
        )

    return make
