"""Vector tiles against the real PostGIS: content, thinning, empty and out-of-range tiles."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.helpers.wait import wait_for_layer
from tests.tiles.conftest import DENSE_LAYER
from tests.tiles.helpers import decode, tile_at
from tiles import grids, mvt

MVT = "application/vnd.mapbox-vector-tile"
ALL_GRIDS = grids.list_tms()


def _url(layer: str, tms: str, z: int, row: int, col: int) -> str:
    return f"/collections/{layer}/tiles/{tms}/{z}/{row}/{col}"


def _expected_adcodes(url: str, tms: str, z: int, row: int, col: int) -> set[str]:
    """Cities whose geometry meets the tile, by PostGIS directly (an independent query)."""
    west, south, east, north = grids.tile_bounds_lonlat(tms, z, row, col)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            'SELECT adcode FROM onemap_data."gd-cities" WHERE ST_Intersects(geom, '
            "ST_MakeEnvelope(%s, %s, %s, %s, 4490))",
            (west, south, east, north),
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("tms", ALL_GRIDS)
def test_city_tile_on_every_grid_holds_the_cities_meeting_it(
    tiles_client: TestClient, sample_url: str, tms: str
) -> None:
    z = 8
    row, col = tile_at(tms, z)
    response = tiles_client.get(_url("gd-cities", tms, z, row, col))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    layer = decode(response.content)["gd-cities"]
    assert layer["extent"] == 4096
    got = {f["properties"]["adcode"] for f in layer["features"]}
    assert "440100" in got  # Guangzhou holds the point the tile was chosen by
    expected = _expected_adcodes(sample_url, tms, z, row, col)
    assert expected <= got  # every city meeting the tile is in it
    for feature in layer["features"]:
        for x, y in _coords(feature["geometry"]):
            assert -64 <= x <= 4096 + 64 and -64 <= y <= 4096 + 64


def _coords(geometry: dict[str, object]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []

    def walk(value: object) -> None:
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (int, float)):
            out.append((float(value[0]), float(value[1])))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(geometry["coordinates"])
    return out


def test_tile_features_match_the_layer(tiles_client: TestClient, sample_url: str) -> None:
    row, col = tile_at("WebMercatorQuad", 7)
    data = decode(tiles_client.get(_url("gd-counties", "WebMercatorQuad", 7, row, col)).content)
    features = data["gd-counties"]["features"]
    with psycopg.connect(sample_url) as conn:
        names = dict(conn.execute('SELECT fid, name FROM onemap_data."gd-counties"').fetchall())
    assert features
    for feature in features:
        assert names[feature["id"]] == feature["properties"]["name"]


SEA_IN_GUANGDONG_BBOX = (117.2, 20.3)  # inside gd-cities' bbox, no city there


def test_empty_tile_is_204_and_out_of_range_is_404(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 10, *SEA_IN_GUANGDONG_BBOX)
    empty = tiles_client.get(_url("gd-cities", "WebMercatorQuad", 10, row, col))
    assert empty.status_code == 204 and not empty.content
    beyond = tiles_client.get(_url("gd-cities", "WebMercatorQuad", 10, 10, 10))
    assert beyond.status_code == 404
    assert "tileRow 10 is outside the tileset's limits" in beyond.json()["detail"]
    limits = tiles_client.get("/collections/gd-cities/tiles/WebMercatorQuad").json()
    (level,) = [m for m in limits["tileMatrixSetLimits"] if m["tileMatrix"] == "10"]
    assert level["minTileRow"] <= row <= level["maxTileRow"]
    assert level["minTileCol"] <= col <= level["maxTileCol"]
    after = tiles_client.get(_url("gd-cities", "WebMercatorQuad", 10, row, level["maxTileCol"] + 1))
    assert after.status_code == 404 and "tileCol" in after.json()["detail"]
    outside = tiles_client.get(_url("gd-cities", "WebMercatorQuad", 3, 8, 0))
    assert outside.status_code == 404
    assert "tileRow 8 is outside 0..7" in outside.json()["detail"]
    deep = tiles_client.get(_url("gd-cities", "WebMercatorQuad", 30, 0, 0))
    assert deep.status_code == 404 and "level 30" in deep.json()["detail"]
    unknown = tiles_client.get(_url("gd-cities", "NoSuchGrid", 3, 0, 0))
    assert unknown.status_code == 404 and "WebMercatorQuad" in unknown.json()["detail"]
    negative = tiles_client.get(_url("gd-cities", "WebMercatorQuad", 3, -1, 0))
    assert negative.status_code == 404


def test_properties_are_selectable(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 6)
    url = _url("gd-cities", "WebMercatorQuad", 6, row, col)
    data = decode(tiles_client.get(url + "?properties=name").content)
    assert all(set(f["properties"]) == {"name"} for f in data["gd-cities"]["features"])
    bad = tiles_client.get(url + "?properties=nope")
    assert bad.status_code == 400 and "nope" in bad.json()["detail"]


def test_etag_304_and_cache_control(tiles_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 9)
    url = _url("gd-cities", "WebMercatorQuad", 9, row, col)
    first = tiles_client.get(url)
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public")
    again = tiles_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert tiles_client.get(url).content == first.content  # served from the cache
    assert first.headers["content-encoding"] == "gzip"  # compressed once, when made
    plain = tiles_client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.headers["content-encoding"] == "identity" and plain.content == first.content
    assert plain.headers["etag"] != etag


def test_dense_points_are_thinned_without_holes(tiles_client: TestClient, sample_url: str) -> None:
    """Every 4×4-pixel cell holding a point of the layer holds a point of the tile."""
    tms, z = "WebMercatorQuad", 9
    row, col = tile_at(tms, z)
    response = tiles_client.get(_url(DENSE_LAYER, tms, z, row, col))
    features = decode(response.content)[DENSE_LAYER]["features"]
    assert len(features) <= mvt.CELLS_PER_TILE**2
    # A point within half an MVT unit of a cell edge may be rounded across it.
    served = {
        _cell([x + dx, y + dy])
        for f in features
        for x, y in [f["geometry"]["coordinates"]]
        for dx in (-0.5, 0, 0.5)
        for dy in (-0.5, 0, 0.5)
    }
    xmin, ymin, xmax, ymax = grids.tile_bounds(tms, z, row, col)
    with psycopg.connect(sample_url) as conn:
        rows = conn.execute(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 3857) g "
            f'FROM onemap_data."{DENSE_LAYER}") s '
            "WHERE ST_X(g) >= %s AND ST_X(g) < %s AND ST_Y(g) > %s AND ST_Y(g) <= %s",
            (xmin, xmax, ymin, ymax),
        ).fetchall()
    size = (xmax - xmin) / mvt.CELLS_PER_TILE
    expected = {(int((x - xmin) // size), int((ymax - y) // size)) for x, y in rows}
    assert len(rows) > len(features)  # it was thinned
    missing = expected - served
    assert not missing, f"{len(missing)} of {len(expected)} cells lost their data"


def _cell(coords: list[float]) -> tuple[int, int]:
    step = 4096 // mvt.CELLS_PER_TILE
    return int(coords[0] // step), int(coords[1] // step)


def test_polygons_smaller_than_a_pixel_stay_visible(
    tiles_client: TestClient, sample_url: str, tmp_path: object
) -> None:
    """A 20 m parcel at z5 (≈5 km per pixel) is kept as a one-pixel square, not dropped."""
    from pathlib import Path

    import geopandas as gpd
    from shapely.geometry import box

    from ingest.pipeline import LayerMeta, ingest_file

    assert isinstance(tmp_path, Path)
    frame = gpd.GeoDataFrame(
        {"kind": ["parcel"]}, geometry=[box(113.27, 23.13, 113.2702, 23.1302)], crs="EPSG:4490"
    )
    frame.to_file(tmp_path / "tiny.gpkg", driver="GPKG")
    meta = LayerMeta(
        id="tiles-tiny", title_zh="小地块", title_en="Tiny", level="province", adcode="440000"
    )
    ingest_file(sample_url, tmp_path / "tiny.gpkg", meta)
    wait_for_layer(tiles_client, "tiles-tiny")  # the app learns of it through LISTEN/NOTIFY
    row, col = tile_at("WebMercatorQuad", 5)
    response = tiles_client.get(_url("tiles-tiny", "WebMercatorQuad", 5, row, col))
    features = decode(response.content)["tiles-tiny"]["features"]
    assert len(features) == 1 and features[0]["geometry"]["type"] == "Polygon"
