"""The tile matrix sets OneMap serves: a lazily built, read-only registry over morecantile.

Grids (ids are what OGC API Tiles and WMTS publish)
---------------------------------------------------
``WebMercatorQuad``, ``WorldCRS84Quad``
    morecantile's copies of the OGC TMS 2.0 definitions (levels 0–24 and 0–23).
``CGCS2000Quad``
    EPSG:4490 (CGCS2000, latitude first) with exactly the geometry and numbering of
    WorldCRS84Quad: level 0 is 2×1 tiles of 256 px, origin at lat 90, lon −180, levels 0–23,
    scale denominators for the OGC 0.28 mm pixel.
``TiandituCGCS2000``
    The same tiles numbered like the national 天地图 ``c`` grid: id N has 2^N × 2^(N−1) tiles
    (id 1: 2×1 tiles of 256 px over −180..180/−90..90 at 0.703125°/px), so its id N is
    CGCS2000Quad's level N−1 (ids 1–24).
``TiandituWebMercator``
    The 天地图 ``w`` grid: WebMercatorQuad's tiles and ids (``w`` level N has 2^N × 2^N tiles).

The two 天地图 grids are listed after the standard ones and are for clients configured for
天地图's matrix ids (``"1"``..``"18"``) and resolutions. Their ids contain no standard id:
GDAL picks a tileset whose URI *contains* the requested id, so ``CGCS2000Quad96dpi`` was taken
for ``CGCS2000Quad``.

Why their scale denominators are the OGC ones
---------------------------------------------
天地图's capabilities publish 96-DPI scale denominators (2.958293554545656E8 at ``c`` level 1,
i.e. 0.703125° × 111319.49 m / (0.0254/96 m)). Every WMTS and TMS reader we know (GDAL 3.6 and
3.12, QGIS, OpenLayers, OWSLib) derives the cell size from the scale denominator with the
0.28 mm pixel of WMTS 1.0 and TMS 2.0 and ignores ``cellSize``; with 96-DPI values they compute
cells 5.8 % too large, so every tile they ask for away from the origin lies elsewhere, and the
layers rendered nothing. These grids therefore publish the scale denominators of their cell
sizes under the 0.28 mm rule (279541132.01435894 at ``c`` id 1, as GoogleCRS84Quad); the tiles,
ids and origin are 天地图's, so a client set up with 天地图's resolutions gets the same tiles.

Degrees become metres with the OGC convention 2πR/360, R = 6378137 m (the semi-major axis of
both CGCS2000 and WGS 84), i.e. 111319.49079327358 m per degree.

Coordinates: bounds returned here are (minx, miny, maxx, maxy) with x = longitude for
geographic grids, whatever the CRS axis order; TMS JSON ``pointOfOrigin``/``orderedAxes``
follow the CRS axis order (latitude first for EPSG:4490), as TMS 2.0 requires.
The registry hands out shared TileMatrixSet objects: treat them as read-only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import morecantile
import pyproj
from morecantile import TileMatrixSet

from layers.errors import InvalidParameter, NotFound
from layers.platform import STORAGE_SRID, epsg_uri

Bounds = tuple[float, float, float, float]

OGC_PIXEL_SIZE_M = 0.28e-3
EARTH_RADIUS_M = 6378137.0
METRES_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_M / 360
WEB_MERCATOR_HALF_WIDTH_M = math.pi * EARTH_RADIUS_M
TILE_SIZE_PX = 256
MAX_SHOWN_ID = 64  # longer unknown ids are not echoed back in error messages
CGCS2000_CRS_URI = epsg_uri(STORAGE_SRID)
WEB_MERCATOR_CRS_URI = epsg_uri(3857)


@dataclass(frozen=True)
class TileMatrixLimits:
    """The tile rows and columns of one level that hold data (WMTS TileMatrixLimits)."""

    tile_matrix: str
    min_row: int
    max_row: int
    min_col: int
    max_col: int


def _quad_levels(
    first_id: int,
    count: int,
    first_cell_size: float,
    first_shape: tuple[int, int],
    origin: tuple[float, float],
    scale_per_cell: float,
) -> list[dict[str, Any]]:
    """TMS 2.0 tileMatrices of a quadtree: each level halves the cell and doubles the matrix."""
    levels = []
    for step in range(count):
        cell_size = first_cell_size / 2**step
        levels.append(
            {
                "id": str(first_id + step),
                "scaleDenominator": cell_size * scale_per_cell,
                "cellSize": cell_size,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": list(origin),
                "tileWidth": TILE_SIZE_PX,
                "tileHeight": TILE_SIZE_PX,
                "matrixWidth": first_shape[0] * 2**step,
                "matrixHeight": first_shape[1] * 2**step,
            }
        )
    return levels


def _cgcs2000_grid(tms_id: str, title: str, first_id: int) -> TileMatrixSet:
    """WorldCRS84Quad's tiles in EPSG:4490; ``first_id`` names its 2×1 level."""
    return TileMatrixSet.model_validate(
        {
            "id": tms_id,
            "title": title,
            "crs": CGCS2000_CRS_URI,
            "orderedAxes": ["Lat", "Lon"],
            "tileMatrices": _quad_levels(
                first_id=first_id,
                count=24,
                first_cell_size=180 / TILE_SIZE_PX,
                first_shape=(2, 1),
                origin=(90.0, -180.0),
                scale_per_cell=METRES_PER_DEGREE / OGC_PIXEL_SIZE_M,
            ),
        }
    )


def _cgcs2000_quad() -> TileMatrixSet:
    return _cgcs2000_grid("CGCS2000Quad", "CGCS2000 for the World (WorldCRS84Quad levels)", 0)


def _tianditu_cgcs2000() -> TileMatrixSet:
    return _cgcs2000_grid(
        "TiandituCGCS2000",
        "天地图 c grid (CGCS2000, ids 1–24), for clients configured for 天地图's scales",
        1,
    )


def _tianditu_web_mercator() -> TileMatrixSet:
    return TileMatrixSet.model_validate(
        {
            "id": "TiandituWebMercator",
            "title": "天地图 w grid (Web Mercator), for clients configured for 天地图's scales",
            "crs": WEB_MERCATOR_CRS_URI,
            "orderedAxes": ["X", "Y"],
            "tileMatrices": _quad_levels(
                first_id=0,
                count=25,
                first_cell_size=2 * WEB_MERCATOR_HALF_WIDTH_M / TILE_SIZE_PX,
                first_shape=(1, 1),
                origin=(-WEB_MERCATOR_HALF_WIDTH_M, WEB_MERCATOR_HALF_WIDTH_M),
                scale_per_cell=1 / OGC_PIXEL_SIZE_M,
            ),
        }
    )


_BUILDERS: Mapping[str, Callable[[], TileMatrixSet]] = {
    "WebMercatorQuad": lambda: morecantile.tms.get("WebMercatorQuad"),
    "WorldCRS84Quad": lambda: morecantile.tms.get("WorldCRS84Quad"),
    "CGCS2000Quad": _cgcs2000_quad,
    # After the standard grids: clients that take the first grid get a standard one.
    "TiandituCGCS2000": _tianditu_cgcs2000,
    "TiandituWebMercator": _tianditu_web_mercator,
}


@functools.cache
def _registry() -> Mapping[str, TileMatrixSet]:
    """Build every grid on first use; later calls share the same read-only mapping."""
    return MappingProxyType({tms_id: build() for tms_id, build in _BUILDERS.items()})


def list_tms() -> list[str]:
    """Ids of the tile matrix sets OneMap serves, in a stable order."""
    return list(_BUILDERS)


def get_tms(tms_id: str) -> TileMatrixSet:
    """The tile matrix set ``tms_id`` (shared: do not mutate); NotFound names the known ids."""
    grid = _registry().get(tms_id)
    if grid is None:
        shown = repr(tms_id) if len(tms_id) <= MAX_SHOWN_ID else f"of {len(tms_id)} characters"
        raise NotFound(
            f"tileMatrixSetId: unknown tile matrix set {shown}; known: {', '.join(list_tms())}"
        )
    return grid


def tms_json(tms_id: str, tms1_members: bool = False) -> dict[str, Any]:
    """The OGC Two-Dimensional Tile Matrix Set 2.0 JSON document of ``tms_id``; with
    ``tms1_members``, also the members of the 1.0 JSON encoding (17-083r2), same values.

    GDAL before 3.7 (Debian 12's 3.6.2) reads only the 1.0 encoding: it takes a document for
    JSON only if its text has ``"type": "TileMatrixSetType"`` (otherwise for a file name,
    which fails with "Destination buffer too small" and "Invalid tiling matrix set name"),
    then reads ``supportedCRS`` and each matrix's ``identifier`` and ``topLeftCorner``.
    GDAL ≥ 3.7 sees ``crs`` and ``tileMatrices`` and reads the 2.0 members. morecantile ≥ 4
    refuses a document with 1.0 members, so the plain document stays pure 2.0 and only the
    tilesets' tiling-scheme links (which GDAL follows) ask for the extra members.
    """
    doc = get_tms(tms_id).model_dump(mode="json", exclude_none=True)
    if tms1_members:
        doc |= {"type": "TileMatrixSetType", "identifier": doc["id"], "supportedCRS": doc["crs"]}
        for matrix in doc["tileMatrices"]:
            matrix |= {"identifier": matrix["id"], "topLeftCorner": matrix["pointOfOrigin"]}
    return doc


def tms_srid(tms_id: str) -> int:
    """The PostGIS SRID of the grid's CRS (CRS84 is SRID 4326: PostGIS is lon/lat anyway)."""
    epsg = get_tms(tms_id).crs.to_epsg()
    return 4326 if epsg is None else epsg


def level_range(tms_id: str) -> range:
    """The level (tile matrix) ids of the grid, as integers."""
    grid = get_tms(tms_id)
    return range(grid.minzoom, grid.maxzoom + 1)


def check_level(tms_id: str, z: int) -> None:
    """Raise NotFound unless ``z`` is a level of the grid (no over-zoom: it would be made up)."""
    levels = level_range(tms_id)
    if z not in levels:
        raise NotFound(
            f"level {_shown(z)} is outside {levels.start}..{levels.stop - 1} of {tms_id}"
        )


def matrix_shape(tms_id: str, z: int) -> tuple[int, int]:
    """(columns, rows) of level ``z``."""
    check_level(tms_id, z)
    matrix = get_tms(tms_id).matrix(z)
    return matrix.matrixWidth, matrix.matrixHeight


def check_tile(tms_id: str, z: int, row: int, col: int) -> None:
    """Raise NotFound, saying which index is off and its range, unless the tile exists."""
    columns, rows = matrix_shape(tms_id, z)
    if not 0 <= row < rows:
        raise NotFound(f"tileRow {_shown(row)} is outside 0..{rows - 1}{_at(z, tms_id)}")
    if not 0 <= col < columns:
        raise NotFound(f"tileCol {_shown(col)} is outside 0..{columns - 1}{_at(z, tms_id)}")


def _at(z: int, tms_id: str) -> str:
    return f" at level {z} of {tms_id}"


def _shown(index: int) -> str:
    """An index as a person can read it back: absurdly long numbers are not echoed whole."""
    text = str(index)
    return text if len(text) <= 12 else f"{text[:6]}…({len(text)} digits)"


def scale_denominator(tms_id: str, z: int) -> float:
    """The scale denominator the grid publishes for level ``z``."""
    check_level(tms_id, z)
    return get_tms(tms_id).matrix(z).scaleDenominator


def tile_bounds(tms_id: str, z: int, row: int, col: int) -> Bounds:
    """(minx, miny, maxx, maxy) of a tile in the grid's CRS, x first (lon, lat for degrees)."""
    check_tile(tms_id, z, row, col)
    left, bottom, right, top = get_tms(tms_id).xy_bounds(morecantile.Tile(col, row, z))
    return left, bottom, right, top


def tile_bounds_lonlat(tms_id: str, z: int, row: int, col: int) -> Bounds:
    """(west, south, east, north) of a tile in the grid's geographic CRS (WGS 84 / CGCS2000):
    its corners through the grid's own transformer, as morecantile's ``bounds`` computes them."""
    left, bottom, right, top = tile_bounds(tms_id, z, row, col)
    to_lonlat = _to_lonlat(tms_id)
    west, north = to_lonlat.transform(left, top)
    east, south = to_lonlat.transform(right, bottom)
    return west, south, east, north


@functools.cache
def _to_lonlat(tms_id: str) -> pyproj.Transformer:
    """The grid's transformer to its geographic CRS, looked up once: morecantile finds it
    per call in a cache keyed by the two CRSs, and hashing a CRS writes out its WKT — four
    WKT texts per uncached tile."""
    return get_tms(tms_id)._to_geographic


def pixel_center(tms_id: str, z: int, row: int, col: int, i: int, j: int) -> tuple[float, float]:
    """(x, y) in the grid's CRS of pixel column ``i``, row ``j`` of a tile (GetFeatureInfo)."""
    left, _, _, top = tile_bounds(tms_id, z, row, col)
    matrix = get_tms(tms_id).matrix(z)
    for name, value, size in (("I", i, matrix.tileWidth), ("J", j, matrix.tileHeight)):
        if not 0 <= value < size:
            raise InvalidParameter(f"pixel {name}={value} is outside 0..{size - 1} of the tile")
    return left + (i + 0.5) * matrix.cellSize, top - (j + 0.5) * matrix.cellSize


def matrix_limits(
    tms_id: str, lonlat_bbox: Bounds, levels: Iterable[int]
) -> list[TileMatrixLimits]:
    """The tiles of each level that intersect a (west, south, east, north) box.

    Corners suffice because in every registered grid x depends only on longitude and y only
    on latitude; the box is clipped to the grid first (Web Mercator stops at ±85.05°).
    """
    west, south, east, north = lonlat_bbox
    if not (west <= east and south <= north):
        raise InvalidParameter(f"bbox {list(lonlat_bbox)} must be west, south, east, north")
    get_tms(tms_id)  # NotFound with the known ids
    xy_box = _xy_box(tms_id, (west, south, east, north))
    limits = []
    for z in levels:
        check_level(tms_id, z)
        limits.append(_limits_at(tms_id, z, xy_box))
    return limits


@functools.lru_cache(maxsize=4096)
def _xy_box(tms_id: str, lonlat_bbox: Bounds) -> Bounds:
    """The box in the grid's CRS, clipped to the grid first (remembered per box and grid:
    a layer's extent is asked for on every tile)."""
    transformer, (left, bottom, right, top) = _from_lonlat(tms_id)
    west, south, east, north = lonlat_bbox
    west, east = min(max(west, left), right), min(max(east, left), right)
    south, north = min(max(south, bottom), top), min(max(north, bottom), top)
    minx, miny = transformer.transform(west, south)
    maxx, maxy = transformer.transform(east, north)
    return minx, miny, maxx, maxy


@functools.lru_cache(maxsize=64)
def _from_lonlat(tms_id: str) -> tuple[Any, Bounds]:
    """The grid's lon/lat → grid CRS transformer and its lon/lat bounds, made once (a
    grid's ``xy`` builds both on every call: ~15 ms, too slow for an edit's purge)."""
    grid = get_tms(tms_id)
    bbox = grid.bbox
    return grid._from_geographic, (bbox.left, bbox.bottom, bbox.right, bbox.top)


def _limits_at(tms_id: str, z: int, xy_bbox: Bounds) -> TileMatrixLimits:
    """Row/column range covering ``xy_bbox``; an edge on a tile border takes no extra tile."""
    level = _level(tms_id, z)
    minx, miny, maxx, maxy = xy_bbox

    def clamp(index: float, size: int) -> int:
        return min(max(int(index), 0), size - 1)

    min_col = clamp(math.floor((minx - level.left) / level.tile_w), level.width)
    max_col = max(min_col, clamp(math.ceil((maxx - level.left) / level.tile_w) - 1, level.width))
    min_row = clamp(math.floor((level.top - maxy) / level.tile_h), level.height)
    max_row = max(min_row, clamp(math.ceil((level.top - miny) / level.tile_h) - 1, level.height))
    return TileMatrixLimits(level.matrix_id, min_row, max_row, min_col, max_col)


@dataclass(frozen=True)
class _Level:
    matrix_id: str
    left: float
    top: float
    tile_w: float
    tile_h: float
    width: int
    height: int


@functools.lru_cache(maxsize=512)
def _level(tms_id: str, z: int) -> _Level:
    """A level's origin, tile size (grid CRS units) and shape: arithmetic from here on."""
    grid = get_tms(tms_id)
    matrix = grid.matrix(z)
    origin_tile = grid.xy_bounds(morecantile.Tile(0, 0, z))
    return _Level(
        matrix.id,
        origin_tile.left,
        origin_tile.top,
        matrix.cellSize * matrix.tileWidth,
        matrix.cellSize * matrix.tileHeight,
        matrix.matrixWidth,
        matrix.matrixHeight,
    )


def padded_limits(tms_id: str, lonlat_bbox: Bounds, z: int, pad: float) -> TileMatrixLimits:
    """The tiles of level ``z`` meeting a lon/lat box grown by ``pad`` tiles on each side
    (in the grid's CRS: one CRS transformation per box and grid, then arithmetic)."""
    level = _level(tms_id, z)
    minx, miny, maxx, maxy = _xy_box(tms_id, lonlat_bbox)
    dx, dy = level.tile_w * pad, level.tile_h * pad
    return _limits_at(tms_id, z, (minx - dx, miny - dy, maxx + dx, maxy + dy))


def check_within_limits(tms_id: str, lonlat_bbox: Bounds, z: int, row: int, col: int) -> None:
    """Raise NotFound unless the tile lies in the ``tileMatrixSetLimits`` of a tileset whose
    data covers ``lonlat_bbox`` (OGC API – Tiles: outside the limits is a 404, like an
    unknown level); the message names the index at fault and the valid range."""
    check_tile(tms_id, z, row, col)
    (limits,) = matrix_limits(tms_id, lonlat_bbox, [z])
    for name, value, low, high in (
        ("tileRow", row, limits.min_row, limits.max_row),
        ("tileCol", col, limits.min_col, limits.max_col),
    ):
        if not low <= value <= high:
            raise NotFound(
                f"{name} {value} is outside the tileset's limits {low}..{high} at level {z}"
                f" of {tms_id}"
            )
