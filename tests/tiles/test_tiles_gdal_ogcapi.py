"""OGC API – Tiles with GDAL's OGCAPI driver: Debian's GDAL 3.6.2 (``/usr/bin``) and
pyogrio's bundled GDAL 3.12, against a live server.

Debian 12's GDAL 3.6.2 reads a tile matrix set only in the TMS 1.0 JSON encoding; the
tilesets' tiling-scheme links ask for a document that carries those members beside the 2.0
ones (``?compat=tms1``). Without them it failed with "Destination buffer too small" and
"Invalid tiling matrix set name" right after fetching the tile matrix set. Its OGCAPI driver is
built without the vector-tile branch (the library has no ``vectorType`` string), so ``ogrinfo``
reads a OneMap collection's features with ``-oo API=ITEMS``; GDAL ≥ 3.7 reads the MVT tiles.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.helpers.catalog import publish_dem
from tests.helpers.wait import wait_for_layer

DEBIAN_GDAL_ERRORS = ("Destination buffer too small", "Invalid tiling matrix set name")
GUANGDONG = (109.6, 20.2, 117.4, 25.6)


@pytest.fixture(scope="module")
def dem_collection(
    live_server: str, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    publish_dem(sample_url, "ogcapi-dem", tmp_path_factory.mktemp("ogcapi-dem"))
    with httpx.Client(base_url=live_server) as http:
        wait_for_layer(http, "ogcapi-dem")
    return f"{live_server}/collections/ogcapi-dem"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)


def test_debian_gdal_opens_a_map_tileset(dem_collection: str) -> None:
    info = _run("/usr/bin/gdalinfo", "-json", f"OGCAPI:{dem_collection}")
    assert not any(error in info.stderr for error in DEBIAN_GDAL_ERRORS), info.stderr
    assert info.returncode == 0, info.stderr
    doc = json.loads(info.stdout)
    assert doc["driverShortName"] == "OGCAPI"
    assert "CRS84" in doc["coordinateSystem"]["wkt"]
    west, north = doc["geoTransform"][0], doc["geoTransform"][3]
    assert GUANGDONG[0] - 1 < west < GUANGDONG[2] and GUANGDONG[1] < north < GUANGDONG[3] + 1


def test_debian_ogrinfo_no_longer_fails_on_the_tile_matrix_set(live_server: str) -> None:
    """Debian's ogrinfo: the tiles path no longer errors on our documents, and the layer and
    its features are read through ``API=ITEMS`` (this build has no vector-tile support)."""
    source = f"OGCAPI:{live_server}/collections/gd-counties"
    auto = _run("/usr/bin/ogrinfo", "-ro", "-so", source)
    assert not any(error in auto.stderr for error in DEBIAN_GDAL_ERRORS), auto.stderr
    items = _run("/usr/bin/ogrinfo", "-ro", "-al", "-so", "-oo", "API=ITEMS", source)
    assert items.returncode == 0, items.stderr
    assert "Layer name: gd-counties" in items.stdout
    count = int(items.stdout.split("Feature Count: ")[1].split()[0])
    assert count > 100  # Guangdong's ~122 county-level units


def test_tms1_members_mirror_the_tms2_ones(live_server: str) -> None:
    tileset = httpx.get(f"{live_server}/collections/gd-counties/tiles/CGCS2000Quad").json()
    (scheme,) = [item for item in tileset["links"] if item["rel"].endswith("tiling-scheme")]
    assert scheme["href"].endswith("/tileMatrixSets/CGCS2000Quad?compat=tms1")
    both = httpx.get(scheme["href"]).json()
    assert both["type"] == "TileMatrixSetType" and both["supportedCRS"] == both["crs"]
    for matrix in both["tileMatrices"]:
        assert matrix["identifier"] == matrix["id"]
        assert matrix["topLeftCorner"] == matrix["pointOfOrigin"] == [90.0, -180.0]
    plain = httpx.get(f"{live_server}/tileMatrixSets/CGCS2000Quad").json()
    assert "supportedCRS" not in plain and "topLeftCorner" not in plain["tileMatrices"][0]
    bad = httpx.get(f"{live_server}/tileMatrixSets/CGCS2000Quad?compat=wms")
    assert bad.status_code == 400 and "compat" in bad.json()["detail"]


# pyogrio runs in a child process: its GDAL call would otherwise hold this process while the
# live server (a thread of this process) has to answer it.
READ_TILES = """
import json, sys, pyogrio
source, tms, level = sys.argv[1:]
first = pyogrio.read_info(source, layer=0, TILEMATRIXSET=tms)["layer_name"]
frame = pyogrio.read_dataframe(source, layer=f"Zoom level {level}", TILEMATRIXSET=tms)
print(json.dumps({
    "first": first, "epsg": frame.crs.to_epsg(), "bounds": list(frame.total_bounds),
    "adcodes": sorted(set(frame["adcode"])), "gdal": pyogrio.__gdal_version_string__,
}))
"""


@pytest.mark.parametrize(
    ("tms", "first_level", "epsg"),
    [("WorldCRS84Quad", "0", None), ("CGCS2000Quad", "0", 4490), ("TiandituCGCS2000", "1", 4490)],
)
def test_gdal_312_reads_vector_tiles_of_the_grid_asked_for(
    live_server: str, tms: str, first_level: str, epsg: int | None
) -> None:
    """GDAL picks a tileset whose URI contains the requested id: each id must pick its own
    grid (CGCS2000Quad96dpi used to be taken for CGCS2000Quad), and the features of a level
    are every county, where the counties are. (GDAL's OGCAPI vector layers on Web Mercator
    grids stop at level 1: it compares the lon/lat extent with metre tile indices; the
    Web Mercator grids are tested with its WMTS driver.)"""
    source = f"OGCAPI:{live_server}/collections/gd-counties"
    level = str(6 + int(first_level))  # the same tiles on both geographic numberings
    run = subprocess.run(
        [sys.executable, "-c", READ_TILES, source, tms, level],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["gdal"].startswith("3.12") and found["first"] == f"Zoom level {first_level}"
    assert found["epsg"] == epsg
    west, south, east, north = found["bounds"]
    assert GUANGDONG[0] - 0.1 < west < east < GUANGDONG[2] + 0.1
    assert GUANGDONG[1] - 0.1 < south < north < GUANGDONG[3] + 0.1
    items = httpx.get(f"{live_server}/collections/gd-counties/items", params={"limit": 1000})
    codes = {feature["properties"]["adcode"] for feature in items.json()["features"]}
    assert set(found["adcodes"]) == codes  # every county, cut into tiles
