"""The HTTP endpoints of the foundation, through the real app and PostGIS."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from ogc.errors import title_of

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def test_landing_page_links(client: TestClient) -> None:
    body = client.get("/").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["data"].endswith("/collections")
    for rel in ("service-desc", "conformance", "data"):
        assert client.get(rels[rel]).status_code == 200
    jobs = rels["http://www.opengis.net/def/rel/ogc/1.0/job-list"]
    assert jobs.endswith("/jobs")
    assert "jobs" in client.get(jobs).json()


def test_conformance(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes


def test_openapi_document(client: TestClient) -> None:
    response = client.get("/api")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.0"), "OGC API Features Part 1 declares oas30"
    validate(doc)  # raises on anything that is not valid OpenAPI 3.0
    assert "/collections/{collectionId}/items" in doc["paths"]


OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


def test_api_answers_the_media_type_the_landing_page_advertises(client: TestClient) -> None:
    desc = next(x for x in client.get("/").json()["links"] if x["rel"] == "service-desc")
    assert desc["type"] == OPENAPI_30
    gdal = f"{OPENAPI_30}, application/openapi+json;version=3.0, application/json"
    for accept in (None, "*/*", gdal, "application/vnd.oai.openapi+json"):
        headers = {"Accept": accept} if accept else {}
        response = client.get("/api", headers=headers)
        assert response.headers["content-type"] == OPENAPI_30, accept
        assert response.json()["openapi"].startswith("3.0")
    assert client.get("/api?f=json").headers["content-type"] == OPENAPI_30
    plain = client.get("/api", headers={"Accept": "application/json"})
    assert plain.headers["content-type"] == "application/json", "asked for plain JSON, got it"
    assert plain.content == client.get("/api").content
    assert plain.headers["etag"] != client.get("/api").headers["etag"], "one tag per type"


def test_api_html_for_browsers_and_400_for_unknown_formats(client: TestClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for response in (
        client.get("/api", headers={"Accept": browser}),
        client.get("/api?f=html"),
        client.get("/api.html"),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "swagger" in response.text.lower() and "/api?f=json" in response.text
    bad = client.get("/api?f=xml")
    assert bad.status_code == 400 and "f=" in bad.json()["description"]


def test_api_html_fetches_nothing_from_a_third_party(client: TestClient) -> None:
    page = client.get("/api.html").text
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page)
    assert len(urls) >= 4, urls  # script, stylesheet, icon, the API document
    base = str(client.base_url)
    assert all(url.startswith(base) for url in urls), urls
    for url in urls[:-1] if urls[-1].endswith("f=json") else urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert client.get("/assets/swagger-ui/index.html").status_code == 404
    assert client.get("/assets/swagger-ui/..%2Fpyproject.toml").status_code == 404


def test_api_head_and_revalidation(client: TestClient) -> None:
    got, head = client.get("/api"), client.head("/api")
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "etag", "content-length"):
        assert head.headers[name] == got.headers[name], name
    again = client.get("/api", headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.head("/api.html").status_code == 200


def test_collections_list_the_three_levels(client: TestClient) -> None:
    body = client.get("/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert {"gd-province", "gd-cities", "gd-counties"} <= set(ids)
    assert any(link["rel"] == "self" for link in body["links"])


def test_collection_document(client: TestClient) -> None:
    body = client.get("/collections/gd-counties").json()
    assert body["id"] == "gd-counties"
    assert body["itemType"] == "feature"
    assert CRS84 in body["crs"]
    assert body["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
    bbox = body["extent"]["spatial"]["bbox"][0]
    assert len(bbox) == 4 and 109 < bbox[0] < bbox[2] < 118 and 20 < bbox[1] < bbox[3] < 26
    assert body["extent"]["spatial"]["crs"] == CRS84
    item_types = {link["type"] for link in body["links"] if link["rel"] == "items"}
    assert "application/geo+json" in item_types
    assert body["onemap:layer"]["level"] == "province"
    assert body["onemap:layer"]["adcode"] == "440000"


def test_items_counts_and_chinese_names(client: TestClient) -> None:
    for layer_id, count in (("gd-province", 1), ("gd-cities", 21), ("gd-counties", 124)):
        response = client.get(f"/collections/{layer_id}/items")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/geo+json")
        body = response.json()
        assert body["numberMatched"] == count
        assert body["numberReturned"] == min(10, count)
    page = client.get("/collections/gd-counties/items", params={"limit": 200}).json()
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in page["features"]}
    assert names["440106"] == "天河区"
    assert page["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert "crs" not in page["features"][0]["geometry"], "GeoJSON (RFC 7946) has no crs member"


def test_items_paging_follows_next_links_without_gaps(client: TestClient) -> None:
    url: str | None = "/collections/gd-counties/items?limit=50"
    seen: list[int] = []
    while url:
        body = client.get(url).json()
        seen.extend(f["id"] for f in body["features"])
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(seen) == 124 and len(set(seen)) == 124


def test_items_bbox(client: TestClient) -> None:
    # Central Guangzhou: Tianhe is in, Shantou is not.
    body = client.get(
        "/collections/gd-counties/items", params={"bbox": "113.3,23.1,113.4,23.2", "limit": 100}
    ).json()
    codes = {f["properties"]["adcode"] for f in body["features"]}
    assert "440106" in codes and "440507" not in codes
    assert body["numberMatched"] == len(codes)


def test_single_feature(client: TestClient) -> None:
    first = client.get("/collections/gd-cities/items?limit=1").json()["features"][0]
    response = client.get(f"/collections/gd-cities/items/{first['id']}")
    assert response.status_code == 200
    assert response.json()["properties"] == first["properties"]


def test_unknown_collection_is_404_with_ogc_body(client: TestClient) -> None:
    response = client.get("/collections/no-such-layer/items")
    assert response.status_code == 404
    body = response.json()
    assert "no-such-layer" in body["description"] and body["code"] == "NotFound"


def test_unknown_feature_is_404(client: TestClient) -> None:
    assert client.get("/collections/gd-cities/items/999999").status_code == 404
    assert client.get("/collections/gd-cities/items/abc").status_code == 404


def test_bad_parameters_are_400(client: TestClient) -> None:
    for params in ({"limit": "0"}, {"limit": "x"}, {"bbox": "1,2,3"}, {"bbox": "a,b,c,d"}):
        response = client.get("/collections/gd-cities/items", params=params)
        assert response.status_code == 400, params
        assert response.json()["description"]


def test_limit_above_maximum_is_clamped(client: TestClient) -> None:
    body = client.get("/collections/gd-counties/items", params={"limit": 100000}).json()
    assert body["numberReturned"] == 124


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["layers"] >= 3


def test_head_is_answered_wherever_get_is(client: TestClient) -> None:
    """Same status and headers as GET, no body (RFC 9110), on JSON, streamed and binary routes."""
    first = client.get("/collections/gd-counties/items?limit=1").json()["features"][0]["id"]
    paths = [
        "/",
        "/collections",
        "/collections/gd-counties/items?limit=3",
        f"/collections/gd-counties/items/{first}",
        "/collections/gd-counties/tiles/WebMercatorQuad/7/55/104",
        "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
    ]
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        for name in ("content-type", "etag", "content-length"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert client.head("/collections/nowhere").status_code == 404


def test_problem_titles_name_every_status(client: TestClient) -> None:
    assert title_of(403) == "Forbidden"
    assert title_of(413) == "Payload Too Large"  # ours, whatever Python's phrase
    assert title_of(499) == "Error"  # no standard phrase
    response = client.delete("/collections")
    assert response.status_code == 405
    assert response.json()["title"] == "Method Not Allowed"
