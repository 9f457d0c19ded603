"""Raster layers for an area-limited caller (issue 13): a restricted DEM over Guangzhou read
by a member limited to Tianhe (440106) has nodata outside Tianhe — in zonal statistics,
terrain, map tiles (OGC API and WMTS) and WMTS GetFeatureInfo — while an unlimited member
reads it whole, and a member limited to Shenzhen, which it does not reach, is told so (400).

What is expected is computed here from the Tianhe polygon and the cell centres (shapely),
not by the rule under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from numpy.typing import NDArray
from pyproj import Transformer
from rasterio.transform import from_origin

from ingest.options import IngestOptions
from ingest.pipeline import ingest_file
from tests.access.fields_areas_helpers import as_caller, callers
from tests.conftest import PUBLISHER
from tests.gate_fixtures import DEPARTMENT, catalog_of, gate_client
from tests.helpers.catalog import fixture_meta
from tests.helpers.wait import wait_for
from tests.tiles.helpers import png_pixels, tile_at
from tiles.featureinfo import pixel_lonlat

__all__ = ["callers", "gate_client"]  # the fixtures
COUNTY, MEMBER, ELSEWHERE = as_caller("county"), as_caller("member"), as_caller("elsewhere")
DEM = "gaps-restricted-dem"
WEST, NORTH, CELL, COLUMNS, ROWS = 113.15, 23.30, 0.005, 80, 70  # Guangzhou's centre


def _values() -> NDArray[np.float32]:
    """Every cell its own value (a tilted plane: rows and columns both change it)."""
    rows, cols = np.mgrid[0:ROWS, 0:COLUMNS]
    return (100.0 + cols * 2.0 + rows * 3.0).astype("float32")


def _write_dem(path: Path) -> Path:
    profile = {
        "driver": "GTiff",
        "width": COLUMNS,
        "height": ROWS,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(WEST, NORTH, CELL, CELL),
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(_values(), 1)
    return path


@pytest.fixture(scope="module")
def dem(gate_client: TestClient, sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The DEM published as a restricted layer of the gate's department (real ingest)."""
    folder = tmp_path_factory.mktemp("gaps-dem")
    meta = fixture_meta(
        DEM, "高程", "DEM", kind="raster", access_level="restricted", department_id=DEPARTMENT
    )
    options = IngestOptions(who="tests", raster_dir=folder / "rasters")
    ingest_file(sample_url, _write_dem(folder / "dem.tif"), meta, options)
    wait_for(
        lambda: gate_client.get(f"/collections/{DEM}", headers=PUBLISHER).status_code == 200,
        f"{DEM} never appeared in the catalog",
    )
    return DEM


@pytest.fixture(scope="module")
def tianhe(gate_client: TestClient, sample_url: str) -> shapely.Geometry:
    counties = catalog_of(gate_client).layers["gd-counties"].table_name
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            f"SELECT ST_AsBinary(ST_Union(geom)) FROM onemap_data.{counties} "
            "WHERE adcode = '440106'"
        ).fetchone()
    assert row is not None
    return shapely.from_wkb(bytes(row[0]))


def _centres_inside(area: shapely.Geometry) -> NDArray[np.bool_]:
    rows, cols = np.mgrid[0:ROWS, 0:COLUMNS]
    lon, lat = WEST + (cols + 0.5) * CELL, NORTH - (rows + 0.5) * CELL
    inside: NDArray[np.bool_] = shapely.contains_xy(area, lon, lat)
    return inside


@pytest.fixture
def raster_callers(callers: TestClient, dem: str) -> Iterator[TestClient]:
    yield callers


def _zonal(client: TestClient, headers: dict[str, str]) -> tuple[int, dict[str, float]]:
    body = {
        "inputs": {
            "raster": {"collection": DEM},
            "zones": {"collection": "gd-cities", "adcode": "440100"},  # public: not clipped
            "percentiles": [],
        },
        "outputs": {"statistics": {}},
    }
    answer = client.post("/processes/zonal-statistics/execution", json=body, headers=headers)
    if answer.status_code != 200:
        return answer.status_code, {"detail": answer.json()["detail"]}
    (feature,) = answer.json()["features"]
    return 200, feature["properties"]


def test_zonal_statistics_use_only_the_cells_inside_the_callers_areas(
    raster_callers: TestClient, tianhe: shapely.Geometry
) -> None:
    inside = _values()[_centres_inside(tianhe)]
    assert 100 < inside.size < ROWS * COLUMNS / 4
    status, whole = _zonal(raster_callers, MEMBER)
    assert status == 200 and whole["valid_count"] > 2 * inside.size
    status, county = _zonal(raster_callers, COUNTY)
    assert status == 200
    assert county["valid_count"] == pytest.approx(inside.size)  # Tianhe lies inside the zone
    assert county["mean"] == pytest.approx(float(inside.mean()), rel=1e-6)
    assert (county["min"], county["max"]) == (float(inside.min()), float(inside.max()))
    status, elsewhere = _zonal(raster_callers, ELSEWHERE)  # Shenzhen: the DEM is not there
    assert status == 400
    assert f"raster: raster layer '{DEM}' has no cell inside the areas" in elsewhere["detail"]


def _geotiff(content: bytes) -> tuple[int, NDArray[np.float64], NDArray[np.float64]]:
    """A raster output's cell count and the lon/lat of the centres of its valid cells."""
    with rasterio.MemoryFile(content) as memory, memory.open() as dataset:
        data = dataset.read(1, masked=True).astype("float64").filled(np.nan)
        rows, cols = np.nonzero(~np.isnan(data))
        xs, ys = rasterio.transform.xy(dataset.transform, rows, cols)
        to_lonlat = Transformer.from_crs(dataset.crs.to_wkt(), "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform(np.asarray(xs), np.asarray(ys))
    return data.size, np.asarray(lon), np.asarray(lat)


def _slope(client: TestClient, headers: dict[str, str]) -> tuple[int, bytes]:
    body = {"inputs": {"dem": {"collection": DEM}, "cell_m": 500}, "outputs": {"slope": {}}}
    answer = client.post("/processes/terrain/execution", json=body, headers=headers)
    return answer.status_code, answer.content


def test_terrain_outputs_only_cells_inside_the_callers_areas(
    raster_callers: TestClient, tianhe: shapely.Geometry
) -> None:
    status, whole = _slope(raster_callers, MEMBER)
    assert status == 200
    status, county = _slope(raster_callers, COUNTY)
    assert status == 200
    whole_size, whole_lon, whole_lat = _geotiff(whole)
    county_size, county_lon, county_lat = _geotiff(county)
    assert county_size < whole_size / 4  # read in Tianhe's window only
    near = tianhe.buffer(CELL)  # a 500 m output cell's centre may sit beside the border
    assert county_lon.size > 50 and shapely.contains_xy(near, county_lon, county_lat).all()
    assert (~shapely.contains_xy(near, whole_lon, whole_lat)).sum() > county_lon.size
    status, elsewhere = _slope(raster_callers, ELSEWHERE)
    assert status == 400 and b"has no cell inside the areas" in elsewhere


def _alpha(image_bytes: bytes) -> NDArray[np.bool_]:
    opaque: NDArray[np.bool_] = np.asarray(png_pixels(image_bytes).convert("RGBA"))[..., 3] > 0
    return opaque


def _pixel_centres(tms: str, z: int, row: int, col: int) -> tuple[NDArray, NDArray]:
    lon, lat = np.zeros((256, 256)), np.zeros((256, 256))
    for j in range(256):
        for i in range(256):
            lon[j, i], lat[j, i] = pixel_lonlat(tms, z, row, col, i, j)
    return lon, lat


MAP_TILE = f"/collections/{DEM}/map/tiles/WebMercatorQuad/{{z}}/{{row}}/{{col}}"
WMTS_TILE = f"/wmts/1.0.0/{DEM}/default/CGCS2000Quad/{{z}}/{{row}}/{{col}}.png"


@pytest.mark.parametrize(  # tiles of about 0.35°, the DEM's size
    ("tms", "z", "path"), [("WebMercatorQuad", 10, MAP_TILE), ("CGCS2000Quad", 9, WMTS_TILE)]
)
def test_map_tiles_show_only_the_pixels_inside_the_callers_areas(
    raster_callers: TestClient, tianhe: shapely.Geometry, tms: str, z: int, path: str
) -> None:
    row, col = tile_at(tms, z, 113.36, 23.16)
    url = path.format(z=z, row=row, col=col)
    county = raster_callers.get(url, headers=COUNTY)  # first: made for the county's scope
    whole = raster_callers.get(url, headers=MEMBER)
    again = raster_callers.get(url, headers=COUNTY)  # from the cache, still the county's
    for answer in (county, whole, again):
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.headers["cache-control"].startswith("private")
    assert again.content == county.content != whole.content
    lon, lat = _pixel_centres(tms, z, row, col)
    in_tianhe = shapely.contains_xy(tianhe, lon, lat)
    county_opaque, whole_opaque = _alpha(county.content), _alpha(whole.content)
    assert county_opaque.sum() > 1000 and whole_opaque.sum() > 2 * county_opaque.sum()
    assert not (county_opaque & ~whole_opaque).any()
    well_inside = shapely.contains_xy(tianhe.buffer(-0.002), lon, lat)
    assert (county_opaque == whole_opaque)[well_inside].all()
    assert not county_opaque[~shapely.contains_xy(tianhe.buffer(0.002), lon, lat)].any()
    assert in_tianhe[county_opaque].mean() > 0.99


def _feature_info(client: TestClient, headers: dict[str, str], lon: float, lat: float) -> list:
    tms, z = "CGCS2000Quad", 12
    row, col = tile_at(tms, z, lon, lat)
    lons, lats = _pixel_centres(tms, z, row, col)
    j, i = np.unravel_index(np.argmin(np.hypot(lons - lon, lats - lat)), lons.shape)
    url = f"/wmts/1.0.0/{DEM}/default/{tms}/{z}/{row}/{col}/{j}/{i}.json"
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    features: list = answer.json()["features"]
    return features


def test_feature_info_answers_only_inside_the_callers_areas(
    raster_callers: TestClient, tianhe: shapely.Geometry
) -> None:
    point_inside = tianhe.representative_point()
    outside = (WEST + 0.03, NORTH - 0.03)  # in the DEM, in Baiyun, not in Tianhe
    assert not tianhe.buffer(0.01).contains(shapely.Point(outside))
    inside = (point_inside.x, point_inside.y)
    value = _feature_info(raster_callers, MEMBER, *inside)
    assert len(value) == 1
    assert _feature_info(raster_callers, COUNTY, *inside) == value
    assert len(_feature_info(raster_callers, MEMBER, *outside)) == 1
    assert _feature_info(raster_callers, COUNTY, *outside) == []
