"""Tile SQL: composed once per layer version, grid family and output, bound per request.

PostGIS renders the bytes (``ST_AsMVT``); Python only computes a tile's bounds and binds them.
Two grid families cover every grid of :mod:`tiles.grids`: *mercator* (EPSG:3857 tiles) and
*geographic* (lon/lat tiles of WorldCRS84Quad / CGCS2000; CGCS2000 and WGS 84 differ by
centimetres, so version tables in EPSG:4490 are cut with no datum shift).

Thinning (the per-tile feature budget): features smaller than a 4×4-pixel cell are reduced to
one per cell (see ``sql/mvt_table.sql``), so a low-zoom tile of a million points carries at
most 64×64 of them and still has a feature wherever the layer has data. Big layers also get
per-level *overviews* (``tiles.overview``) so low zooms do not scan every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from psycopg import sql

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features.where import area_condition
from layers.platform import DATA_SCHEMA, STORAGE_SRID
from tiles import grids

MVT_EXTENT = 4096
MVT_BUFFER = 64  # 4 px of a 256-px tile: lines and symbols crossing the edge join up
CELL_PX = 4
TILE_PX = 256
CELLS_PER_TILE = TILE_PX // CELL_PX
MAX_FEATURES = 20_000  # only reached by layers with thousands of tile-sized features
RENDER_SCALE = 4  # PNG tiles are drawn at 4× and reduced: anti-aliasing without a C library
EARTH_RADIUS_M = grids.EARTH_RADIUS_M
MAX_MERCATOR_LAT = 85.0511287798066
BIG_FEATURE_KEY_BASE = -(2**40)  # keys of cell-sized-or-bigger features never meet cell keys
CELL_ROW_STRIDE = 2**20

Output = Literal["mvt", "wkb"]
AREA = sql.SQL("%(area)s")  # an area-limited caller's areas, EWKB (tiles.service binds it)


@dataclass(frozen=True)
class Family:
    """Grids that share tile geometry and therefore overviews."""

    name: str
    srid: int


MERCATOR = Family("mercator", 3857)
GEOGRAPHIC = Family("geographic", STORAGE_SRID)
# tms id -> (family, offset to add to the tms level to get the family level)
FAMILY_OF: dict[str, tuple[Family, int]] = {
    "WebMercatorQuad": (MERCATOR, 0),
    "TiandituWebMercator": (MERCATOR, 0),
    "WorldCRS84Quad": (GEOGRAPHIC, 0),
    "CGCS2000Quad": (GEOGRAPHIC, 0),
    "TiandituCGCS2000": (GEOGRAPHIC, -1),
}


def family_of(tms_id: str) -> tuple[Family, int]:
    grids.get_tms(tms_id)  # NotFound with the known ids
    return FAMILY_OF[tms_id]


@dataclass(frozen=True)
class TileSpec:
    """Where a tile is: its bounds in the grid CRS and in lon/lat, and its family level."""

    tms_id: str
    z: int
    row: int
    col: int
    bounds: grids.Bounds
    lonlat: grids.Bounds
    family: Family
    level: int

    @classmethod
    def of(cls, tms_id: str, z: int, row: int, col: int) -> TileSpec:
        family, offset = family_of(tms_id)
        bounds = grids.tile_bounds(tms_id, z, row, col)  # NotFound when out of range
        lonlat = grids.tile_bounds_lonlat(tms_id, z, row, col)
        return cls(tms_id, z, row, col, bounds, lonlat, family, z + offset)

    def intersects(self, extent: Sequence[float] | None) -> bool:
        """Whether the tile (with its buffer) can hold any of a layer's lon/lat extent."""
        if extent is None:
            return False
        west, south, east, north = self.search_box()
        return not (extent[0] > east or extent[2] < west or extent[1] > north or extent[3] < south)

    def search_box(self) -> grids.Bounds:
        """The lon/lat box the index is searched with: the tile plus twice its buffer."""
        west, south, east, north = self.lonlat
        margin = 2 * MVT_BUFFER / MVT_EXTENT
        dx, dy = (east - west) * margin, (north - south) * margin
        return west - dx, max(south - dy, -90.0), east + dx, min(north + dy, 90.0)

    def params(self) -> dict[str, Any]:
        xmin, ymin, xmax, ymax = self.bounds
        cell = (xmax - xmin) / CELLS_PER_TILE
        west, south, east, north = self.search_box()
        pad = (xmax - xmin) * MVT_BUFFER / MVT_EXTENT
        return {
            "xmin": xmin,
            "ymin": ymin,
            "xmax": xmax,
            "ymax": ymax,
            "cell": cell,
            "tolerance": cell / (2 * CELL_PX),  # half a pixel: invisible, drops most vertices
            "pixel": cell / CELL_PX,
            "west": west,
            "south": south,
            "east": east,
            "north": north,
            "bxmin": xmin - pad,
            "bymin": ymin - pad,
            "bxmax": xmax + pad,
            "bymax": ymax + pad,
            "level": self.level,
            "limit": MAX_FEATURES,
        }


def select_properties(layer: Layer, requested: str | None) -> tuple[str, ...]:
    """The attribute columns a tile carries: all by default, or a validated subset."""
    if requested is None:
        return layer.field_names
    names = tuple(dict.fromkeys(n.strip() for n in requested.split(",") if n.strip()))
    unknown = [n for n in names if layer.field(n) is None]
    if unknown:
        raise InvalidParameter(
            f"unknown properties {unknown} for '{layer.id}'; known: {list(layer.field_names)}"
        )
    return names


def is_point_layer(layer: Layer) -> bool:
    return (layer.geometry_type or "").upper() == "POINT"


@cache  # the package's fixed SQL files, read once
def _template(name: str) -> str:
    return (resources.files("tiles") / "sql" / name).read_text(encoding="utf-8")


def _grid_x(family: Family, lon: sql.Composable) -> sql.Composable:
    if family is GEOGRAPHIC:
        return lon
    return sql.SQL("(radians({}) * {})").format(lon, sql.Literal(EARTH_RADIUS_M))


def _grid_y(family: Family, lat: sql.Composable) -> sql.Composable:
    if family is GEOGRAPHIC:
        return lat
    clamped = sql.SQL("LEAST(GREATEST({}, {}), {})").format(
        lat, sql.Literal(-MAX_MERCATOR_LAT), sql.Literal(MAX_MERCATOR_LAT)
    )
    return sql.SQL("(ln(tan(pi() / 4 + radians({}) / 2)) * {})").format(
        clamped, sql.Literal(EARTH_RADIUS_M)
    )


def cell_of(x: sql.Composable, y: sql.Composable) -> sql.Composable:
    """The tile-local 4-px cell of grid point (x, y) as one bigint (row-major)."""
    return sql.SQL(
        "(floor(({x} - %(xmin)s) / %(cell)s)::bigint * {stride}"
        " + floor((%(ymax)s - {y}) / %(cell)s)::bigint)"
    ).format(x=x, y=y, stride=sql.Literal(CELL_ROW_STRIDE))


def grid_bbox(family: Family) -> tuple[sql.Composable, ...]:
    """(xmin, xmax, ymin, ymax) of ``t.geom``'s bbox in grid coordinates, computed from the
    stored lon/lat with the grid's formulas (so no row is transformed)."""
    geom = sql.SQL("t.geom")
    return (
        _grid_x(family, sql.SQL("ST_XMin({})").format(geom)),
        _grid_x(family, sql.SQL("ST_XMax({})").format(geom)),
        _grid_y(family, sql.SQL("ST_YMin({})").format(geom)),
        _grid_y(family, sql.SQL("ST_YMax({})").format(geom)),
    )


def is_small(family: Family) -> sql.Composable:
    """Whether ``t.geom`` fits in one 4×4-pixel cell (%(cell)s) of the grid."""
    x0, x1, y0, y1 = grid_bbox(family)
    return sql.SQL("({x1} - {x0} < %(cell)s AND {y1} - {y0} < %(cell)s)").format(
        x0=x0, x1=x1, y0=y0, y1=y1
    )


def cell_key(layer: Layer, family: Family) -> sql.Composable:
    """Cell of a small feature's bbox centre; a unique negative key for features ≥ a cell."""
    if is_point_layer(layer):
        geom = sql.SQL("t.geom")
        x = _grid_x(family, sql.SQL("ST_X({})").format(geom))
        y = _grid_y(family, sql.SQL("ST_Y({})").format(geom))
        return cell_of(x, y)
    x0, x1, y0, y1 = grid_bbox(family)
    centre = cell_of(
        sql.SQL("(({} + {}) / 2)").format(x0, x1), sql.SQL("(({} + {}) / 2)").format(y0, y1)
    )
    return sql.SQL("CASE WHEN {small} THEN {centre} ELSE {base} - t.fid END").format(
        small=is_small(family), centre=centre, base=sql.Literal(BIG_FEATURE_KEY_BASE)
    )


def _transformed(geom: sql.Composable, transform_to: int | None) -> sql.Composable:
    if transform_to is None:
        return geom
    return sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(transform_to))


def shape(
    layer: Layer, geom: sql.Composable, exact: sql.Composable | None = None
) -> sql.Composable:
    """The geometry handed to ST_AsMVTGeom: simplified by half a pixel unless a point, or
    where ``exact`` holds (merged overview rows: already on the pixel grid, and cutting
    their pixel corners would fill pixels the data does not)."""
    if is_point_layer(layer):
        return geom
    simplified = sql.SQL("ST_Simplify({}, %(tolerance)s, true)").format(geom)
    if exact is None:
        return simplified
    return sql.SQL("CASE WHEN {} THEN {} ELSE {} END").format(exact, geom, simplified)


ENVELOPE = sql.SQL("ST_MakeEnvelope(%(xmin)s, %(ymin)s, %(xmax)s, %(ymax)s)")


def mvt_geom(
    layer: Layer,
    grid_geom: sql.Composable,
    extent: int,
    buffer: int,
    exact: sql.Composable | None = None,
) -> sql.Composable:
    """The tile geometry; a polygon or line too small to survive the tile grid becomes a
    one-pixel square or dash at its centre, so small features never leave holes."""
    clipped = sql.SQL("ST_AsMVTGeom({}, {}, {}, {}, true)")
    main = clipped.format(
        shape(layer, grid_geom, exact), ENVELOPE, sql.Literal(extent), sql.Literal(buffer)
    )
    geometry = (layer.geometry_type or "").upper()
    centre = sql.SQL("ST_Centroid({})").format(grid_geom)
    if "POLYGON" in geometry:
        stand_in = sql.SQL("ST_Expand({}, %(pixel)s / 2)").format(centre)
    elif "LINE" in geometry:
        stand_in = sql.SQL(
            "ST_MakeLine(ST_Translate({c}, -%(pixel)s / 2, 0), ST_Translate({c}, %(pixel)s / 2, 0))"
        ).format(c=centre)
    else:
        return main
    fallback = clipped.format(stand_in, ENVELOPE, sql.Literal(extent), sql.Literal(buffer))
    return sql.SQL("COALESCE({}, {})").format(main, fallback)


def _columns(alias: str, names: Sequence[str]) -> sql.Composable:
    return sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(alias, name)) for name in names)


def _aggregate(layer: Layer, output: Output) -> tuple[sql.Composable, int]:
    """What the outer SELECT returns, and the tile extent it works in."""
    if output == "mvt":
        mvt = sql.SQL("ST_AsMVT(tile, {}, {}, 'geom', 'fid')").format(
            sql.Literal(layer.id), sql.Literal(MVT_EXTENT)
        )
        return mvt, MVT_EXTENT
    wkb = sql.SQL("ST_AsBinary(tile.geom), tile.label, ST_AsBinary(tile.anchor)")
    return wkb, TILE_PX * RENDER_SCALE


def _render_columns(
    alias: str, label: str | None, grid_geom: sql.Composable, extent: int
) -> sql.Composable:
    """For PNG rendering: the label text and its anchor (a point on the whole feature)."""
    if label is None:
        return sql.SQL(", NULL::text AS label, NULL::geometry AS anchor")
    return sql.SQL(
        ", {label}::text AS label, ST_AsMVTGeom(ST_PointOnSurface({geom}),"
        " ST_MakeEnvelope(%(xmin)s, %(ymin)s, %(xmax)s, %(ymax)s), {extent}, 0, true) AS anchor"
    ).format(label=sql.Identifier(alias, label), geom=grid_geom, extent=sql.Literal(extent))


def compose_tile_sql(
    layer: Layer,
    family: Family,
    output: Output,
    properties: tuple[str, ...],
    overview_table: str | None = None,
    clipped: bool = False,
    merged_column: str | None = None,
) -> str:
    """The tile statement for one layer version and family, as text ready to prepare.
    ``clipped``: for area-limited callers, with an ``%(area)s`` parameter (their areas'
    union) the features must intersect; never on an overview table, whose thinned rows
    were chosen without it.

    Called when a layer version's plan is built (``tiles.plan``), not per request."""
    if clipped and overview_table is not None:
        raise ValueError("an area clip needs the version table, not an overview")
    aggregate, extent = _aggregate(layer, output)
    buffer = MVT_BUFFER * extent // MVT_EXTENT
    alias = "t" if overview_table is None else "o"
    transform = None if family is GEOGRAPHIC or overview_table else family.srid
    grid_geom = _transformed(sql.Identifier(alias, "geom"), transform)
    exact = None  # an overview's merged rows (``merged_column`` not null) stay unsimplified
    if merged_column is not None:
        exact = sql.SQL("{} IS NOT NULL").format(sql.Identifier(alias, merged_column))
    if output == "mvt":
        columns = _columns(alias, properties + ((merged_column,) if merged_column else ()))
    else:
        label = properties[0] if properties else None
        columns = _render_columns(alias, label, grid_geom, extent)
    common = {
        "aggregate": aggregate,
        "mvt_geom": mvt_geom(layer, grid_geom, extent, buffer, exact),
        "columns": columns,
    }
    if overview_table is not None:
        statement = sql.SQL(_template("mvt_overview.sql")).format(
            table=sql.Identifier(DATA_SCHEMA, overview_table),
            grid_srid=sql.Literal(family.srid),
            **common,
        )
    else:
        area = sql.SQL(" AND {}").format(area_condition(sql.SQL("t.geom"), AREA))
        statement = sql.SQL(_template("mvt_table.sql")).format(
            cell_key=cell_key(layer, family),
            clip=area if clipped else sql.SQL(""),
            table=sql.Identifier(DATA_SCHEMA, layer.table_name),
            storage_srid=sql.Literal(layer.storage_srid),
            **common,
        )
    return statement.as_string()
