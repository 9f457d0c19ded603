"""The single-feature fast path answers exactly what the route answers.

Every request goes to two apps on the same database: the real one (fast path
installed) and one built without it, so the route answers. Status, headers (in
order) and body must be equal, and the fast path's counter says which requests it
took and which it handed over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

import ogc.app
from layers.settings import ServiceSettings
from ogc.routers.feature_fastpath import FeatureFastPath
from tests.conftest import PUBLISHER
from tests.features.conftest import FIELDS
from tests.helpers.catalog import fields_from_json, fixture_meta, register_table
from tests.helpers.headers import comparable
from tests.helpers.wait import wait_for

EVENTS_TABLE = "feat_events_v1"
RASTER = "feat-fast-raster"
INTERNAL = "feat-fast-internal"


@pytest.fixture(scope="module")
def route_client(settings: ServiceSettings) -> Iterator[TestClient]:
    """The same app without the feature fast path: what the route alone answers."""
    with TestClient(ogc.app.create_app(settings, fast_layer=False)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def odd_layers(
    sample_url: str, events_layer: str, client: TestClient, route_client: TestClient
) -> Iterator[None]:
    """A raster layer and an internal layer, both over the events table (so a fast path that
    wrongly took them would answer 200), present only while this module runs."""
    with psycopg.connect(sample_url) as conn:
        for layer_id, kind, access in (
            (RASTER, "raster", "public"),
            (INTERNAL, "vector", "internal"),
        ):
            meta = fixture_meta(layer_id, "快速", "Fast", kind=kind, access_level=access)
            register_table(conn, meta, EVENTS_TABLE, fields_from_json(FIELDS), "Point")
    _wait_for(client, route_client, present=True)
    yield
    with psycopg.connect(sample_url) as conn:
        conn.execute("DELETE FROM onemap.layers WHERE id = ANY(%s)", [[RASTER, INTERNAL]])
    _wait_for(client, route_client, present=False)


def _wait_for(client: TestClient, route_client: TestClient, *, present: bool) -> None:
    url = f"/collections/{INTERNAL}"
    for each in (client, route_client):
        wait_for(
            lambda app=each: (app.get(url, headers=PUBLISHER).status_code == 200) == present,
            "the catalog did not pick up the change",
        )


def fast_path(client: TestClient) -> FeatureFastPath:
    layer: Any = client.app.fast_layer  # type: ignore[attr-defined]
    while not isinstance(layer, FeatureFastPath):
        layer = layer.app
    return layer


def first_id(client: TestClient, collection: str) -> int:
    body = client.get(f"/collections/{collection}/items", params={"limit": 1}).json()
    return int(body["features"][0]["id"])


def compare(
    client: TestClient,
    route_client: TestClient,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    fast: bool,
) -> Any:
    """Ask both apps; assert equal answers and whether the fast path took the request."""
    served = fast_path(client).served
    ours = client.get(url, headers=headers)
    route = route_client.get(url, headers=headers)
    assert fast_path(client).served == served + (1 if fast else 0), url
    assert ours.status_code == route.status_code, (url, ours.text, route.text)
    assert comparable(ours) == comparable(route), url
    assert ours.content == route.content, url
    return ours


GEOJSON_ACCEPTS = [
    {},
    {"Accept": "application/geo+json"},
    {"Accept": "application/json, text/html"},
    {"Accept": "*/*"},
    {"Accept": "text/csv, application/geo+json;q=0.9"},
    {"Origin": "https://example.org"},
    {"Accept-Encoding": "identity"},
    {"Accept-Language": "en"},
]


@pytest.mark.parametrize("headers", GEOJSON_ACCEPTS)
@pytest.mark.parametrize("collection", ["gd-counties", "gd-cities", "feat-events"])
def test_geojson_answers_are_the_routes(
    client: TestClient,
    route_client: TestClient,
    events_layer: str,
    collection: str,
    headers: dict[str, str],
) -> None:
    url = f"/collections/{collection}/items/{first_id(client, collection)}"
    response = compare(client, route_client, url, headers, fast=True)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"


def test_format_parameter(client: TestClient, route_client: TestClient) -> None:
    url = f"/collections/gd-cities/items/{first_id(client, 'gd-cities')}"
    for query in ("?f=json", "?f=geojson"):
        compare(client, route_client, url + query, {"Accept": "text/html"}, fast=True)
    for query in ("?f=html", "?f=JSON", "?f=json&lang=en", "?crs=EPSG:4326", "?properties=name"):
        compare(client, route_client, url + query, fast=False)


def test_gzip_of_a_large_feature(client: TestClient, route_client: TestClient) -> None:
    url = f"/collections/gd-counties/items/{first_id(client, 'gd-counties')}"
    response = compare(client, route_client, url, {"Accept-Encoding": "gzip"}, fast=True)
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept, Accept-Language, Accept-Encoding, Origin"


def test_revalidation(client: TestClient, route_client: TestClient) -> None:
    url = f"/collections/gd-cities/items/{first_id(client, 'gd-cities')}"
    etag = client.get(url).headers["etag"]
    for tags in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        response = compare(client, route_client, url, {"If-None-Match": tags}, fast=True)
        assert response.status_code == 304
    compare(client, route_client, url, {"If-None-Match": '"other"'}, fast=True)
    cors = {"If-None-Match": etag, "Origin": "https://example.org"}
    assert compare(client, route_client, url, cors, fast=True).status_code == 304
    since = {"If-Modified-Since": "Wed, 01 Jan 2099 00:00:00 GMT"}
    assert compare(client, route_client, url, since, fast=False).status_code == 304


def test_unknown_feature_is_the_routes_404(client: TestClient, route_client: TestClient) -> None:
    url = "/collections/gd-cities/items/999999999"
    response = compare(client, route_client, url, fast=True)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "999999999" in response.json()["detail"]
    compare(client, route_client, url, {"Origin": "https://example.org"}, fast=True)


@pytest.mark.parametrize(
    "path",
    [
        "/collections/gd-cities/items/abc",  # not an id
        "/collections/gd-cities/items/١",  # an Arabic-Indic digit: the route decides
        "/collections/gd-cities/items/1234567890123456789012",  # beyond bigint
        "/collections/no-such-layer/items/1",
        f"/collections/{RASTER}/items/1",  # a raster layer has no features: 404
        f"/collections/{INTERNAL}/items/1",  # access checks live in the route
    ],
)
def test_the_route_answers_the_rest(
    client: TestClient, route_client: TestClient, odd_layers: None, path: str
) -> None:
    compare(client, route_client, path, fast=False)


def test_raster_and_internal_layers_keep_their_answers(
    client: TestClient, route_client: TestClient, odd_layers: None
) -> None:
    fid = first_id(client, "feat-events")
    raster = compare(client, route_client, f"/collections/{RASTER}/items/{fid}", fast=False)
    assert raster.status_code == 404
    url = f"/collections/{INTERNAL}/items/{fid}"
    hidden = compare(client, route_client, url, fast=False)
    assert hidden.status_code == 404  # the gate: an internal layer does not exist for anonymous
    internal = compare(client, route_client, url, PUBLISHER, fast=False)
    assert internal.status_code == 200  # the publisher sees it; its answer is private
    assert json.loads(internal.content)["id"] == fid
    assert internal.headers["cache-control"].startswith("private")


def test_head_goes_to_the_route(client: TestClient) -> None:
    url = f"/collections/gd-cities/items/{first_id(client, 'gd-cities')}"
    served = fast_path(client).served
    client.head(url)
    assert fast_path(client).served == served
