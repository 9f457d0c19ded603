"""Tile matrix sets: ids, numbering, scale denominators and the 天地图 alignment (no database)."""

from __future__ import annotations

import math
import random
import re

import morecantile
import pytest
from morecantile import TileMatrixSet

from layers.errors import InvalidParameter, NotFound
from tiles import grids

# Published by 天地图 in its WMTS capabilities (e.g. t0.tianditu.gov.cn/vec_c/wmts?
# request=GetCapabilities): TileMatrixSet "c", TileMatrix "1" → 2×1 tiles, ScaleDenominator
# 2.958293554545656E8 (a 96-DPI pixel), TopLeftCorner "90.0 -180.0"; TileMatrix "18" →
# 262144×131072 tiles. Its level-1 cell is 0.703125°.
TIANDITU_LEVEL_1_SCALE_96DPI = 2.958293554545656e8
TIANDITU_LEVEL_1_CELL_DEGREES = 0.703125


def test_registry_lists_the_five_grids() -> None:
    assert grids.list_tms() == [
        "WebMercatorQuad",
        "WorldCRS84Quad",
        "CGCS2000Quad",
        "TiandituCGCS2000",
        "TiandituWebMercator",
    ]
    for tms_id in grids.list_tms():
        assert grids.get_tms(tms_id).id == tms_id


def test_unknown_grid_is_not_found_and_lists_the_known_ids() -> None:
    with pytest.raises(
        NotFound, match=r"unknown tile matrix set 'Mercator'; known: .*CGCS2000Quad"
    ):
        grids.get_tms("Mercator")


def test_registry_is_built_once_and_read_only() -> None:
    assert grids.get_tms("CGCS2000Quad") is grids.get_tms("CGCS2000Quad")
    with pytest.raises(TypeError):
        grids._registry()["Other"] = grids.get_tms("CGCS2000Quad")  # type: ignore[index]


@pytest.mark.parametrize(
    ("tms_id", "level", "expected"),
    [
        # The values of the OGC TMS 2.0 definitions and WMTS 1.0.0 well-known scale sets.
        ("WebMercatorQuad", 0, 559082264.0287178),
        ("WorldCRS84Quad", 0, 279541132.0143589),
        ("CGCS2000Quad", 0, 279541132.0143589),
        ("CGCS2000Quad", 17, 279541132.0143589 / 2**17),
        # 天地图 grids: their tiles, the OGC scale of those tiles (clients derive cells from it).
        ("TiandituCGCS2000", 1, 279541132.0143589),
        ("TiandituCGCS2000", 18, 279541132.0143589 / 2**17),
        ("TiandituWebMercator", 1, 559082264.0287178 / 2),
        ("TiandituWebMercator", 18, 559082264.0287178 / 2**18),
    ],
)
def test_scale_denominators(tms_id: str, level: int, expected: float) -> None:
    assert grids.scale_denominator(tms_id, level) == pytest.approx(expected, rel=1e-12)


def test_metres_per_degree_is_the_ogc_convention() -> None:
    assert math.isclose(grids.METRES_PER_DEGREE, 111319.49079327358, rel_tol=1e-15)


@pytest.mark.parametrize("tms_id", grids.list_tms())
def test_cell_size_is_what_clients_derive_from_the_scale(tms_id: str) -> None:
    """WMTS 1.0 and TMS 2.0 readers (GDAL, QGIS, OpenLayers) compute the cell size as
    scale × 0.28 mm ÷ metres per unit and ignore ``cellSize``: the two must agree, or every
    tile they ask for lies elsewhere (the 96-DPI variants rendered nothing)."""
    grid = grids.get_tms(tms_id)
    per_unit = 1.0 if grid.crs.to_epsg() == 3857 else 111319.49079327358
    for matrix in grid.tileMatrices:
        derived = matrix.scaleDenominator * 0.28e-3 / per_unit
        assert derived == pytest.approx(matrix.cellSize, rel=1e-12), (tms_id, matrix.id)


def test_tianditu_c_keeps_tianditus_cells_not_its_96dpi_scale() -> None:
    first = grids.get_tms("TiandituCGCS2000").matrix(1)
    assert first.cellSize == TIANDITU_LEVEL_1_CELL_DEGREES
    # 天地图's own value would make 0.28 mm readers compute 5.8 % larger cells.
    assert first.scaleDenominator != pytest.approx(TIANDITU_LEVEL_1_SCALE_96DPI)
    assert TIANDITU_LEVEL_1_SCALE_96DPI / first.scaleDenominator == pytest.approx(
        0.28e-3 / (0.0254 / 96)
    )


def test_no_grid_id_contains_another() -> None:
    """GDAL selects a tileset whose URI contains the requested id (substring match)."""
    ids = grids.list_tms()
    for tms_id in ids:
        assert [other for other in ids if tms_id in other] == [tms_id]


def test_cgcs2000_quad_has_worldcrs84quad_numbering_and_tiles() -> None:
    assert grids.level_range("CGCS2000Quad") == range(0, 24)
    assert grids.matrix_shape("CGCS2000Quad", 0) == (2, 1)
    for level, row, col in [(0, 0, 1), (1, 1, 3), (7, 40, 200), (12, 1000, 3000)]:
        assert grids.tile_bounds("CGCS2000Quad", level, row, col) == pytest.approx(
            grids.tile_bounds("WorldCRS84Quad", level, row, col)
        )


def test_tianditu_c_level_n_is_cgcs2000_quad_level_n_minus_1() -> None:
    assert grids.level_range("TiandituCGCS2000") == range(1, 25)
    for level in range(1, 19):
        assert grids.matrix_shape("TiandituCGCS2000", level) == (2**level, 2 ** (level - 1))
        assert grids.matrix_shape("CGCS2000Quad", level - 1) == (2**level, 2 ** (level - 1))
    assert grids.matrix_shape("TiandituCGCS2000", 18) == (262144, 131072)
    # 天地图 c level 2, column 3, row 0: the north-east quarter of the eastern hemisphere.
    assert grids.tile_bounds("TiandituCGCS2000", 2, 0, 3) == (90.0, 0.0, 180.0, 90.0)
    assert grids.tile_bounds("CGCS2000Quad", 1, 0, 3) == (90.0, 0.0, 180.0, 90.0)


def test_tianditu_c_tile_of_guangzhou() -> None:
    """Tile index by the 天地图 formula col = ⌊(lon + 180) / w⌋, row = ⌊(90 − lat) / w⌋."""
    lon, lat, level = 113.264, 23.129, 10
    width = 360 / 2**level
    col, row = math.floor((lon + 180) / width), math.floor((90 - lat) / width)
    west, south, east, north = grids.tile_bounds("TiandituCGCS2000", level, row, col)
    assert west <= lon < east and south <= lat < north
    assert (west, north) == pytest.approx((-180 + col * width, 90 - row * width))


def test_tianditu_w_numbering_is_web_mercator_numbering() -> None:
    assert grids.level_range("TiandituWebMercator") == range(0, 25)
    for level, row, col in [(1, 0, 1), (18, 114000, 213000)]:
        assert grids.tile_bounds("TiandituWebMercator", level, row, col) == pytest.approx(
            grids.tile_bounds("WebMercatorQuad", level, row, col)
        )


def test_cgcs2000_tms_json_follows_the_latitude_first_axis_order() -> None:
    document = grids.tms_json("CGCS2000Quad")
    assert document["id"] == "CGCS2000Quad"
    assert document["crs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert document["orderedAxes"] == ["Lat", "Lon"]
    first = document["tileMatrices"][0]
    assert first["id"] == "0"
    assert first["pointOfOrigin"] == [90.0, -180.0]
    assert (first["matrixWidth"], first["matrixHeight"]) == (2, 1)
    assert first["cellSize"] == 0.703125
    assert grids.tms_json("TiandituCGCS2000")["tileMatrices"][0]["id"] == "1"


@pytest.mark.parametrize("tms_id", grids.list_tms())
def test_tms_json_round_trips_through_morecantile(tms_id: str) -> None:
    again = TileMatrixSet.model_validate(grids.tms_json(tms_id))
    assert again.xy_bounds(1, 0, 1) == grids.get_tms(tms_id).xy_bounds(1, 0, 1)


def test_tile_bounds_are_x_first_even_for_latitude_first_crs() -> None:
    assert grids.tile_bounds("CGCS2000Quad", 0, 0, 1) == (0.0, -90.0, 180.0, 90.0)
    west, south, east, north = grids.tile_bounds("WebMercatorQuad", 1, 0, 0)
    assert (west, south, east, north) == pytest.approx((-20037508.342789244, 0, 0, 20037508.34))


def test_tile_bounds_lonlat() -> None:
    bounds = grids.tile_bounds_lonlat("WebMercatorQuad", 1, 0, 0)
    assert bounds == pytest.approx((-180.0, 0.0, 0.0, 85.0511287798066))
    assert grids.tile_bounds_lonlat("CGCS2000Quad", 0, 0, 0) == (-180.0, -90.0, 0.0, 90.0)


def test_srids_for_postgis() -> None:
    srids = {tms_id: grids.tms_srid(tms_id) for tms_id in grids.list_tms()}
    assert srids == {
        "WebMercatorQuad": 3857,
        "WorldCRS84Quad": 4326,
        "CGCS2000Quad": 4490,
        "TiandituCGCS2000": 4490,
        "TiandituWebMercator": 3857,
    }


@pytest.mark.parametrize(
    ("tms_id", "level", "row", "col", "message"),
    [
        ("WebMercatorQuad", 3, 9, 0, "tileRow 9 is outside 0..7 at level 3 of WebMercatorQuad"),
        ("WebMercatorQuad", 3, 0, 8, "tileCol 8 is outside 0..7 at level 3 of WebMercatorQuad"),
        ("WebMercatorQuad", 3, -1, 0, "tileRow -1 is outside 0..7"),
        ("CGCS2000Quad", 0, 1, 0, "tileRow 1 is outside 0..0 at level 0 of CGCS2000Quad"),
        ("WebMercatorQuad", -1, 0, 0, "level -1 is outside 0..24 of WebMercatorQuad"),
        ("WebMercatorQuad", 25, 0, 0, "level 25 is outside 0..24 of WebMercatorQuad"),
        ("TiandituCGCS2000", 0, 0, 0, "level 0 is outside 1..24 of TiandituCGCS2000"),
    ],
)
def test_out_of_range_tiles_are_not_found(
    tms_id: str, level: int, row: int, col: int, message: str
) -> None:
    with pytest.raises(NotFound, match=re.escape(message)):
        grids.check_tile(tms_id, level, row, col)
    with pytest.raises(NotFound, match=re.escape(message)):
        grids.tile_bounds(tms_id, level, row, col)


def test_scale_denominator_of_a_missing_level_is_not_found() -> None:
    with pytest.raises(NotFound, match=re.escape("level 24 is outside 0..23 of CGCS2000Quad")):
        grids.scale_denominator("CGCS2000Quad", 24)


def test_pixel_center() -> None:
    x, y = grids.pixel_center("CGCS2000Quad", 0, 0, 0, 0, 0)
    assert (x, y) == pytest.approx((-180 + 0.703125 / 2, 90 - 0.703125 / 2))
    with pytest.raises(InvalidParameter, match=re.escape("pixel I=256 is outside 0..255")):
        grids.pixel_center("CGCS2000Quad", 0, 0, 0, 256, 0)


def test_matrix_limits_of_guangdong_on_the_tianditu_grid() -> None:
    guangdong = (109.6, 20.1, 117.3, 25.6)
    limits = grids.matrix_limits("TiandituCGCS2000", guangdong, [1, 2, 3])
    assert limits == [
        grids.TileMatrixLimits("1", 0, 0, 1, 1),
        grids.TileMatrixLimits("2", 0, 0, 3, 3),
        grids.TileMatrixLimits("3", 1, 1, 6, 6),
    ]


def test_matrix_limits_edges_and_clipping() -> None:
    world = grids.matrix_limits("WebMercatorQuad", (-180, -90, 180, 90), [3])
    assert world == [grids.TileMatrixLimits("3", 0, 7, 0, 7)]
    # A box ending exactly on a tile border takes no tile beyond it.
    east_quarter = grids.matrix_limits("CGCS2000Quad", (90, 0, 180, 90), [1])
    assert east_quarter == [grids.TileMatrixLimits("1", 0, 0, 3, 3)]


def test_matrix_limits_validation() -> None:
    with pytest.raises(InvalidParameter, match="west, south, east, north"):
        grids.matrix_limits("CGCS2000Quad", (10, 0, 5, 1), [1])
    with pytest.raises(NotFound, match="level 30"):
        grids.matrix_limits("CGCS2000Quad", (0, 0, 1, 1), [30])


@pytest.mark.parametrize("tms_id", grids.list_tms())
def test_lonlat_bounds_are_morecantiles(tms_id: str) -> None:
    """The cached transformer gives morecantile's own geographic bounds, bit for bit."""
    tms, rng = grids.get_tms(tms_id), random.Random(tms_id)
    for matrix in tms.tileMatrices:
        for _ in range(20):
            z = int(matrix.id)
            row, col = rng.randrange(matrix.matrixHeight), rng.randrange(matrix.matrixWidth)
            expected = tuple(tms.bounds(morecantile.Tile(col, row, z)))
            assert grids.tile_bounds_lonlat(tms_id, z, row, col) == expected
