"""Part 1 items behaviour through HTTP on the real app and PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.features.conftest import ids

ITEMS = "/collections/gd-counties/items"
EVENTS = "/collections/feat-events/items"


def get(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params) if params else client.get(url)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def walk(client: TestClient, url: str, rel: str = "next", **params: Any) -> list[list[int]]:
    """Every page reached by following ``rel`` links."""
    pages = []
    body = get(client, url, **params)
    while True:
        pages.append(ids(body))
        href = next((x["href"] for x in body["links"] if x["rel"] == rel), None)
        if href is None:
            return pages
        body = get(client, href.replace("http://testserver", ""))


def test_limit_default_and_clamp(client: TestClient) -> None:
    assert get(client, ITEMS)["numberReturned"] == 10
    assert get(client, ITEMS, limit=5000)["numberReturned"] == 124  # clamped to 1000


def test_members_of_a_page(client: TestClient) -> None:
    body = get(client, ITEMS, limit=3)
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 124 and body["numberReturned"] == 3
    assert body["timeStamp"].endswith("Z")
    rels = {x["rel"] for x in body["links"]}
    assert {"self", "next", "collection", "alternate"} <= rels and "prev" not in rels


def test_next_then_prev_pages_have_no_gaps_or_duplicates(client: TestClient) -> None:
    forward = walk(client, ITEMS, limit=17)
    flat = [i for page in forward for i in page]
    assert len(flat) == 124 and len(set(flat)) == 124 and flat == sorted(flat)
    # From the last page, prev links walk back through the very same pages.
    last = get(client, ITEMS, limit=17, after=forward[-2][-1])
    assert ids(last) == forward[-1]
    back = walk(client, ITEMS, "prev", limit=17, after=forward[-2][-1])
    assert back == list(reversed(forward))


@pytest.mark.parametrize("sortby", ["name", "-name", "-adcode", "city,-name", "-magnitude"])
def test_sorted_keyset_paging(client: TestClient, events_layer: str, sortby: str) -> None:
    url = EVENTS if "magnitude" in sortby else ITEMS
    every = get(client, url, limit=1000, sortby=sortby)
    pages = walk(client, url, limit=7, sortby=sortby)
    assert [i for page in pages for i in page] == ids(every)
    assert len(set(ids(every))) == every["numberMatched"]


def test_sortby_orders_and_nulls_last(client: TestClient, events_layer: str) -> None:
    body = get(client, EVENTS, limit=100, sortby="magnitude")
    values = [f["properties"]["magnitude"] for f in body["features"]]
    numbers = [v for v in values if v is not None]
    assert numbers == sorted(numbers) and values[len(numbers) :] == [None] * (
        len(values) - len(numbers)
    )
    names = [
        f["properties"]["name"] for f in get(client, ITEMS, limit=200, sortby="-adcode")["features"]
    ]
    assert len(names) == 124


def test_offset_still_works(client: TestClient) -> None:
    all_ids = ids(get(client, ITEMS, limit=124))
    assert ids(get(client, ITEMS, limit=5, offset=100)) == all_ids[100:105]


def test_bbox_four_and_six_numbers(client: TestClient) -> None:
    four = get(client, ITEMS, bbox="113.3,23.1,113.4,23.2", limit=100)
    six = get(client, ITEMS, bbox="113.3,23.1,-10,113.4,23.2,100", limit=100)
    assert ids(four) == ids(six) and four["numberMatched"] == len(ids(four)) > 0


def test_bbox_across_the_antimeridian(client: TestClient, events_layer: str) -> None:
    names = {f["properties"]["name"] for f in get(client, EVENTS, bbox="179,9,-179,11")["features"]}
    assert names == {"east of 180", "west of 180"}
    names = {f["properties"]["name"] for f in get(client, EVENTS, bbox="179,9,180,11")["features"]}
    assert names == {"east of 180"}


@pytest.mark.parametrize(
    ("datetime", "expected"),
    [
        ("2024-01-05T00:00:00Z", 1),  # an instant
        ("2024-01-05", 1),  # a whole day
        ("2024-01-05/2024-01-09", 5),  # dates: both days included
        ("2024-01-05T00:00:00Z/2024-01-09T00:00:00Z", 5),
        ("../2023-12-31T23:59:59Z", 2),  # the antimeridian pair (2023)
        ("2025-01-01/..", 5),  # Tianhe, 2025
        ("2025-06-02T00:00:00Z/", 4),  # empty end = open
        ("../..", 40),
    ],
)
def test_datetime(client: TestClient, events_layer: str, datetime: str, expected: int) -> None:
    assert get(client, EVENTS, datetime=datetime, limit=100)["numberMatched"] == expected


def test_property_equality_and_adcode_prefix(client: TestClient) -> None:
    assert (
        ids(get(client, ITEMS, adcode="440106"))
        and get(client, ITEMS, adcode="440106")["features"][0]["properties"]["name"] == "天河区"
    )
    shenzhen = get(client, ITEMS, adcode="4403*", limit=100)
    codes = {f["properties"]["adcode"] for f in shenzhen["features"]}
    assert codes and all(c.startswith("4403") for c in codes)
    assert shenzhen["numberMatched"] == len(codes)
    both = get(client, ITEMS, city_adcode="440100", name="天河区")
    assert [f["properties"]["adcode"] for f in both["features"]] == ["440106"]


def test_within_county_on_another_layer(client: TestClient, events_layer: str) -> None:
    body = get(client, EVENTS, within="440106", limit=100)
    assert body["numberMatched"] == 5
    assert {f["properties"]["adcode"] for f in body["features"]} == {"440106"}
    city = get(client, ITEMS, within="440100", limit=100)  # counties of Guangzhou
    assert {f["properties"]["city_adcode"] for f in city["features"]} == {"440100"}
    assert city["numberMatched"] == 11


def test_q_free_text_in_chinese(client: TestClient) -> None:
    body = get(client, ITEMS, q="天河")
    assert [f["properties"]["name"] for f in body["features"]] == ["天河区"]
    body = get(client, ITEMS, q="天河,越秀", limit=50)
    assert {f["properties"]["name"] for f in body["features"]} == {"天河区", "越秀区"}
    assert get(client, ITEMS, q="100%")["numberMatched"] == 0  # % is not a wildcard


def test_properties_and_skip_geometry(client: TestClient) -> None:
    body = get(client, ITEMS, properties="name,adcode", skipGeometry="true", limit=2)
    feature = body["features"][0]
    assert set(feature["properties"]) == {"name", "adcode"} and feature["geometry"] is None
    assert get(client, ITEMS, properties="", limit=1)["features"][0]["properties"] == {}


def test_geojson_seq_and_csv(client: TestClient) -> None:
    seq = client.get(ITEMS, params={"f": "jsonseq", "limit": 3, "skipGeometry": "true"})
    assert seq.headers["content-type"].startswith("application/geo+json-seq")
    records = [r for r in seq.text.split("\x1e") if r]
    assert len(records) == 3 and all(r.endswith("\n") for r in records)
    csv = client.get(ITEMS, params={"f": "csv", "limit": 3, "properties": "adcode,name"})
    lines = csv.text.strip().splitlines()
    assert lines[0] == "id,adcode,name,wkt" and len(lines) == 4 and "MULTIPOLYGON" in lines[1]
    accepted = client.get(ITEMS, params={"limit": 2}, headers={"Accept": "text/csv"})
    assert accepted.headers["content-type"].startswith("text/csv")


def test_large_pages_stream_and_stay_valid(client: TestClient, events_layer: str) -> None:
    body = get(client, ITEMS, limit=1000)  # several chunk rows, streamed
    assert body["numberReturned"] == 124 and len(set(ids(body))) == 124
    seq = client.get(ITEMS, params={"f": "jsonseq", "limit": 1000, "skipGeometry": "true"})
    assert seq.text.count("\x1e") == 124


def test_etag_and_304(client: TestClient) -> None:
    first = client.get(ITEMS, params={"limit": 2})
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get(ITEMS, params={"limit": 2}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(ITEMS, params={"limit": 3}, headers={"If-None-Match": tag}).status_code == 200
    since = client.get(ITEMS, params={"limit": 2}, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    feature_id = first.json()["features"][0]["id"]
    one = client.get(f"{ITEMS}/{feature_id}")
    assert (
        client.get(
            f"{ITEMS}/{feature_id}", headers={"If-None-Match": one.headers["etag"]}
        ).status_code
        == 304
    )


def test_gzip_and_cors(client: TestClient) -> None:
    response = client.get(ITEMS, params={"limit": 50}, headers={"Origin": "http://x.example"})
    assert response.headers.get("content-encoding") == "gzip"
    assert response.headers["access-control-allow-origin"] in ("*", "http://x.example")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"}, {"limit": "-1"}, {"limit": "x"}, {"offset": "-3"},
        {"bbox": "1,2,3"}, {"bbox": "a,b,c,d"}, {"bbox": "113,24,114,23"},
        {"bbox": "1,2,3,4,5"}, {"datetime": "yesterday"}, {"datetime": "2024-02-01/2024-01-01"},
        {"sortby": "nope"}, {"properties": "nope"}, {"skipGeometry": "maybe"},
        {"crs": "EPSG:2000"}, {"bbox-crs": "EPSG:32650", "bbox": "1,2,3,4"},
        {"unknownparam": "1"}, {"after": "abc"}, {"sortby": "name", "after": "xx"},
        {"within": "4401"}, {"f": "xml"}, {"q": ","}, {"after": "1", "before": "2"},
        {"filter-lang": "cql2-text"},
    ],
)  # fmt: skip
def test_bad_parameters_are_400_with_ogc_body(client: TestClient, params: dict[str, str]) -> None:
    response = client.get(ITEMS, params=params)
    assert response.status_code == 400, (params, response.text)
    body = response.json()
    assert body["code"] == "BadRequest" and body["description"]


def test_unknown_things_are_404(client: TestClient) -> None:
    assert client.get("/collections/nope/items").status_code == 404
    assert client.get(f"{ITEMS}/99999999").status_code == 404
    assert client.get(f"{ITEMS}/abc").status_code == 404
    assert client.get(ITEMS, params={"within": "449999"}).status_code == 404
    assert client.get("/collections/nope/queryables").status_code == 404


def test_single_feature_document(client: TestClient) -> None:
    first = get(client, ITEMS, limit=1)["features"][0]
    response = client.get(f"{ITEMS}/{first['id']}", params={"properties": "name"})
    body = response.json()
    assert response.headers["content-type"].startswith("application/geo+json")
    assert body["id"] == first["id"] and body["properties"] == {"name": first["properties"]["name"]}
    assert {"self", "collection", "alternate"} <= {x["rel"] for x in body["links"]}
    assert client.get(f"{ITEMS}/{first['id']}", params={"limit": "3"}).status_code == 400


def test_big_pages_are_streamed_not_buffered(client: TestClient) -> None:
    """limit above one chunk: chunked transfer (no Content-Length), valid JSON at the end."""
    with client.stream(
        "GET", ITEMS, params={"limit": 1000}, headers={"Accept-Encoding": "identity"}
    ) as response:
        assert "content-length" not in response.headers
        chunks = list(response.iter_raw())
    assert len(chunks) >= 1
    small = client.get(ITEMS, params={"limit": 5}, headers={"Accept-Encoding": "identity"})
    assert "content-length" in small.headers  # one chunk row: sent whole
