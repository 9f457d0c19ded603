"""WMTS with real clients: OWSLib and GDAL's WMTS driver against a live uvicorn server."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from owslib.wmts import WebMapTileService

from tests.tiles.helpers import opaque_pixels, png_pixels, tile_at

OWS = "{http://www.opengis.net/ows/1.1}"


def test_owslib_parses_capabilities_and_fetches_tiles(live_server: str) -> None:
    service = WebMapTileService(f"{live_server}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities")
    assert "gd-cities" in service.contents
    layer = service.contents["gd-cities"]
    assert {"WebMercatorQuad", "CGCS2000Quad", "TiandituCGCS2000"} <= set(layer.tilematrixsetlinks)
    for tms, z in (("WebMercatorQuad", 8), ("CGCS2000Quad", 8), ("TiandituCGCS2000", 9)):
        row, col = tile_at(tms, z)
        tile = service.gettile(
            layer="gd-cities",
            tilematrixset=tms,
            tilematrix=str(z),
            row=row,
            column=col,
            format="image/png",
            style="default",
        )
        assert opaque_pixels(png_pixels(tile.read())) > 1000, tms


def test_rest_tile_feature_info_and_exception_report(live_server: str) -> None:
    row, col = tile_at("WebMercatorQuad", 8)
    base = f"{live_server}/wmts/1.0.0/gd-cities/default/WebMercatorQuad/8/{row}/{col}"
    assert httpx.get(base + ".png").headers["content-type"] == "image/png"
    assert httpx.get(base + ".pbf").headers["content-type"] == "application/vnd.mapbox-vector-tile"
    info = httpx.get(base + "/128/128.json").json()
    assert info["type"] == "FeatureCollection" and info["features"]
    assert "<table>" in httpx.get(base + "/128/128.html").text
    bad = httpx.get(f"{live_server}/wmts/1.0.0/nope/default/WebMercatorQuad/8/{row}/{col}.png")
    assert bad.status_code == 400
    root = ET.fromstring(bad.content)
    assert root.tag == f"{OWS}ExceptionReport"
    out = httpx.get(
        f"{live_server}/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=gd-cities"
        "&STYLE=default&FORMAT=image/png&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=3"
        "&TILEROW=9&TILECOL=0"
    )
    assert out.status_code == 400
    assert ET.fromstring(out.content)[0].get("exceptionCode") == "TileOutOfRange"


@pytest.mark.parametrize(
    "tms",
    [
        "WebMercatorQuad",
        "WorldCRS84Quad",
        "CGCS2000Quad",
        "TiandituCGCS2000",
        "TiandituWebMercator",
    ],
)
def test_gdal_wmts_driver_reads_pixels_where_data_is(
    live_server: str, tmp_path: Path, tms: str
) -> None:
    source = (
        f"WMTS:{live_server}/wmts/1.0.0/WMTSCapabilities.xml,layer=gd-cities,tilematrixset={tms}"
    )
    info = subprocess.run(
        ["gdalinfo", "-json", source], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(info.stdout)["size"][0] > 0
    target = tmp_path / "gz.png"
    # A small window over Guangzhou, read through the driver at a modest resolution.
    subprocess.run(
        [
            "gdal_translate",
            "-q",
            "-of",
            "PNG",
            "-projwin_srs",
            "EPSG:4326",
            "-projwin",
            "113.0",
            "23.4",
            "113.6",
            "22.9",
            "-outsize",
            "128",
            "0",
            source,
            str(target),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    image = png_pixels(target.read_bytes())
    assert opaque_pixels(image) > 128 * 50
