"""One source for the URL paths: the routes declare them, the fast paths match them, the
links fill them, and the base URL rule is one function."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from ogc.http import paths
from ogc.routers import (
    collections,
    items,
    items_history,
    items_write,
    landing,
    queryables,
    search,
    tiles,
    tiles_dataset,
    wmts,
)
from ogc.routers.feature_fastpath import PATH
from ogc.routers.tiles_fastpath import ROUTES

TEMPLATES = [
    value
    for name, value in vars(paths).items()
    if name.isupper() and not name.startswith("_")
    if isinstance(value, str) and value.startswith("/")
]


def _scope(headers: list[tuple[bytes, bytes]], **extra: Any) -> dict[str, Any]:
    return {"type": "http", "headers": headers, "scheme": "http", "root_path": ""} | extra


def test_every_template_is_a_declared_route() -> None:
    modules = (
        *(collections, items, items_history, items_write, queryables, landing),
        *(search, tiles, tiles_dataset, wmts),
    )
    declared = {
        route.path for m in modules for route in m.router.routes if isinstance(route, APIRoute)
    }
    missing = [t for t in TEMPLATES if t not in declared and t != paths.WMTS_ROOT]
    assert missing == []


def test_the_fast_paths_match_what_the_route_templates_fill_in() -> None:
    tile = {"collectionId": "roads", "tileMatrixSetId": "WebMercatorQuad"}
    tile |= {"tileMatrix": 7, "tileRow": 54, "tileCol": 104}
    wmts = {"layer": "roads", "style": "default", "TileMatrixSet": "WebMercatorQuad"}
    wmts |= {"TileMatrix": 7, "TileRow": 54, "TileCol": 104}
    expected = ("roads", "WebMercatorQuad", "7", "54", "104")
    requests = [
        paths.href("", paths.COLLECTION_TILE, **tile),
        paths.href("", paths.MAP_TILE, **tile),
        paths.href("", paths.WMTS_TILE, **wmts) + ".png",
        paths.href("", paths.WMTS_TILE, **wmts) + ".pbf",
    ]
    for (pattern, _, _), path in zip(ROUTES, requests, strict=True):
        found = pattern.match(path)
        assert found is not None and found.groups() == expected, path
    item = paths.href("", paths.ITEM, collectionId="roads", featureId=12)
    assert item == "/collections/roads/items/12"
    found = PATH.match(item)
    assert found is not None and found.groups() == ("roads", "12")
    assert PATH.match("/collections/roads/items/١٢") is None  # ASCII digits only
    other_style = paths.href("", paths.WMTS_TILE, **(wmts | {"style": "night"})) + ".png"
    assert not any(pattern.match(other_style) for pattern, _, _ in ROUTES)


def test_a_matcher_needs_a_syntax_for_every_variable() -> None:
    with pytest.raises(KeyError):
        paths.matcher(paths.ITEM, {"collectionId": "[a-z]+"})


def test_href_fills_named_variables_and_keeps_the_others_for_the_client() -> None:
    template = paths.renamed(paths.COLLECTION_TILE, paths.TILEJSON_VARIABLES)
    url = paths.href("https://x.test/m", template, collectionId="a b", tileMatrixSetId="T")
    assert url == "https://x.test/m/collections/a%20b/tiles/T/{z}/{y}/{x}"


def test_the_base_url_is_the_public_url_when_set() -> None:
    scope = _scope([(b"host", b"evil.example")])
    assert paths.base_url("https://map.example.gd.gov.cn/onemap/", scope) == (
        "https://map.example.gd.gov.cn/onemap"
    )


def test_the_base_url_otherwise_comes_from_the_request() -> None:
    scope = _scope([(b"host", b"localhost:8080")], root_path="/gis", server=("10.0.0.1", 80))
    assert paths.base_url(None, scope) == "http://localhost:8080/gis"
    https = _scope([], scheme="https", server=("10.0.0.1", 443))
    assert paths.base_url(None, https) == "https://10.0.0.1"
    v6 = _scope([], server=("::1", 8000))
    assert paths.base_url(None, v6) == "http://[::1]:8000"
    for bad in (b"a b", b"x/y", b"host:99999", b'x"><script>'):
        hostile = _scope([(b"host", bad)], server=("127.0.0.1", 8000))
        assert paths.base_url(None, hostile) == "http://127.0.0.1:8000", bad


def test_links_of_the_routes_and_the_fast_path_share_the_base_url(client: TestClient) -> None:
    """X-Forwarded-Proto is applied by uvicorn before the app; the Host header reaches both."""
    headers = {"Host": "proxy.example:8443"}
    collection = client.get("/collections/gd-cities", headers=headers).json()
    first = client.get("/collections/gd-cities/items?limit=1").json()["features"][0]["id"]
    feature = client.get(f"/collections/gd-cities/items/{first}", headers=headers).json()
    for doc in (collection, feature):
        assert all(link["href"].startswith("http://proxy.example:8443/") for link in doc["links"])
