"""PNG map tiles, a re-ingest seen on the next request, raster tiles, TileJSON and styles."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point

from ingest.pipeline import LayerMeta, ingest_file
from tests.helpers.catalog import publish_dem
from tests.helpers.wait import wait_for, wait_for_layer
from tests.tiles.helpers import decode, opaque_pixels, png_pixels, tile_at
from tiles.raster import render_raster
from tiles.render import cjk_font_available


def test_map_tile_is_a_transparent_antialiased_png(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 8)
    response = tiles_client.get(f"/collections/gd-cities/map/tiles/WebMercatorQuad/8/{row}/{col}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = png_pixels(response.content)
    assert image.size == (256, 256) and image.mode == "RGBA"
    alphas = set(image.getchannel("A").get_flattened_data())
    assert opaque_pixels(image) > 1000
    assert len(alphas) > 3  # partial alpha at edges: anti-aliased
    # The Guangdong coast: land drawn, sea left transparent.
    coast = tiles_client.get(f"/collections/gd-cities/map/tiles/WebMercatorQuad/8/{row + 1}/{col}")
    assert coast.status_code == 200
    assert 0 < opaque_pixels(png_pixels(coast.content)) < 256 * 256


@pytest.mark.parametrize("tms", ["CGCS2000Quad", "TiandituCGCS2000", "WorldCRS84Quad"])
def test_map_tiles_on_geographic_grids(tiles_client: TestClient, tms: str) -> None:
    row, col = tile_at(tms, 8)
    response = tiles_client.get(f"/collections/gd-counties/map/tiles/{tms}/8/{row}/{col}")
    assert response.status_code == 200
    assert opaque_pixels(png_pixels(response.content)) > 1000


def test_chinese_labels_are_drawn(tiles_client: TestClient) -> None:
    assert cjk_font_available(), "install fonts-wqy-microhei (CJK labels)"
    row, col = tile_at("WebMercatorQuad", 7)
    url = f"/collections/gd-province/map/tiles/WebMercatorQuad/7/{row}/{col}"
    image = png_pixels(tiles_client.get(url).content).convert("RGBA")
    dark = [p for p in image.get_flattened_data() if p[3] > 200 and sum(p[:3]) < 200]
    assert dark, "label text (dark on a halo) expected"


def test_empty_map_tile_is_transparent_and_outside_the_limits_is_404(
    tiles_client: TestClient,
) -> None:
    row, col = tile_at("WebMercatorQuad", 10, 117.2, 20.3)  # sea inside gd-cities' bbox
    empty = tiles_client.get(f"/collections/gd-cities/map/tiles/WebMercatorQuad/10/{row}/{col}")
    assert empty.status_code == 200 and empty.headers["content-type"] == "image/png"
    image = png_pixels(empty.content)
    assert image.size == (256, 256) and opaque_pixels(image) == 0
    outside = tiles_client.get("/collections/gd-cities/map/tiles/WebMercatorQuad/9/0/0")
    assert outside.status_code == 404 and "limits" in outside.json()["detail"]


def _publish(url: str, tmp: Path, values: list[int]) -> None:
    frame = gpd.GeoDataFrame(
        {"value": values},
        geometry=[Point(113.27 + i * 0.01, 23.13) for i in values],
        crs="EPSG:4490",
    )
    path = tmp / f"v{len(values)}.gpkg"
    frame.to_file(path, driver="GPKG")
    meta = LayerMeta(
        id="tiles-reingest",
        title_zh="重发布",
        title_en="Re-ingest",
        level="province",
        adcode="440000",
    )
    ingest_file(url, path, meta)


def _version(client: TestClient) -> int:
    response = client.get("/collections/tiles-reingest")
    return response.json()["onemap:layer"]["version"] if response.status_code == 200 else 0


def _wait_version(client: TestClient, version: int) -> None:
    """Wait for the running app to learn of ``version`` through LISTEN/NOTIFY."""
    wait_for(lambda: _version(client) >= version, "the catalog did not reload on NOTIFY")


def test_reingest_is_visible_on_the_next_tile_request(
    tiles_client: TestClient, sample_url: str, tmp_path: Path
) -> None:
    _publish(sample_url, tmp_path, [1])
    _wait_version(tiles_client, 1)
    first_version = _version(tiles_client)
    row, col = tile_at("WebMercatorQuad", 10)
    url = f"/collections/tiles-reingest/tiles/WebMercatorQuad/10/{row}/{col}"
    first = tiles_client.get(url)
    assert len(decode(first.content)["tiles-reingest"]["features"]) == 1
    _publish(sample_url, tmp_path, [1, 2, 3])
    _wait_version(tiles_client, first_version + 1)
    second = tiles_client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    assert len(decode(second.content)["tiles-reingest"]["features"]) == 3


def test_raster_tile_has_ramp_and_hillshade(dem_cog: Path) -> None:
    row, col = tile_at("WebMercatorQuad", 7)
    png = render_raster(str(dem_cog), "WebMercatorQuad", 7, row, col)
    assert png is not None
    image = png_pixels(png)
    assert opaque_pixels(image) > 256 * 200
    assert len(set(image.convert("RGB").get_flattened_data())) > 50  # a ramp, shaded
    row, col = tile_at("CGCS2000Quad", 7)
    assert render_raster(str(dem_cog), "CGCS2000Quad", 7, row, col) is not None
    assert render_raster(str(dem_cog), "WebMercatorQuad", 7, 0, 0) is None


def test_tileset_metadata_tilejson_and_style(tiles_client: TestClient) -> None:
    sets = tiles_client.get("/collections/gd-cities/tiles").json()["tilesets"]
    assert {s["tileMatrixSetURI"].rsplit("/", 1)[-1] for s in sets} >= {
        "WebMercatorQuad",
        "CGCS2000Quad",
    }
    meta = tiles_client.get("/collections/gd-cities/tiles/CGCS2000Quad").json()
    assert meta["dataType"] == "vector" and meta["tileMatrixSetLimits"]
    assert any(link["rel"] == "item" for link in meta["links"])
    tilejson = tiles_client.get("/collections/gd-cities/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tilejson"] == "3.0.0" and tilejson["vector_layers"][0]["id"] == "gd-cities"
    style = tiles_client.get("/collections/gd-cities/style.json").json()
    assert style["version"] == 8 and style["layers"][0]["source-layer"] == "gd-cities"
    tms = tiles_client.get("/tileMatrixSets/CGCS2000Quad").json()
    assert tms["crs"].endswith("4490")


def test_dataset_tile_combines_collections(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 8)
    url = f"/tiles/WebMercatorQuad/8/{row}/{col}?collections=gd-cities,gd-counties"
    data = decode(tiles_client.get(url).content)
    assert set(data) == {"gd-cities", "gd-counties"}


def test_raster_layer_map_tiles_through_the_catalog(
    tiles_client: TestClient, sample_url: str, tmp_path: Path
) -> None:
    """The DEM ingested as a raster layer is served as PNG by OGC API Tiles and WMTS."""
    publish_dem(sample_url, "tiles-dem", tmp_path)
    wait_for_layer(tiles_client, "tiles-dem")
    row, col = tile_at("WebMercatorQuad", 7)
    response = tiles_client.get(f"/collections/tiles-dem/map/tiles/WebMercatorQuad/7/{row}/{col}")
    assert response.status_code == 200
    assert opaque_pixels(png_pixels(response.content)) > 256 * 200
    row, col = tile_at("CGCS2000Quad", 7)
    wmts = tiles_client.get(f"/wmts/1.0.0/tiles-dem/default/CGCS2000Quad/7/{row}/{col}.png")
    assert wmts.status_code == 200 and wmts.headers["content-type"] == "image/png"
    assert tiles_client.get("/collections/tiles-dem/tiles/WebMercatorQuad/7/0/0").status_code == 400
    info = tiles_client.get(
        f"/wmts/1.0.0/tiles-dem/default/CGCS2000Quad/7/{row}/{col}/128/128.json"
    )
    assert info.status_code == 200
    assert isinstance(info.json()["features"][0]["properties"]["value"], float)
