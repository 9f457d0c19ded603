"""HTML pages for every resource, in Chinese and English, with an inline SVG map."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PAGES = [
    "/",
    "/conformance",
    "/collections",
    "/collections/gd-counties",
    "/collections/gd-counties/queryables",
    "/collections/gd-counties/items",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_in_both_languages(client: TestClient, path: str) -> None:
    zh = client.get(path, params={"f": "html"})
    en = client.get(path, params={"f": "html", "lang": "en"})
    for response in (zh, en):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert '<script src="http' not in response.text  # nothing from a CDN
    assert 'lang="zh-CN"' in zh.text and 'lang="en"' in en.text
    if path == "/collections":
        assert "广东省县级行政区" in zh.text or "县" in zh.text


def test_browsers_get_html_by_accept(client: TestClient) -> None:
    accept = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-GB,en"}
    response = client.get("/collections/gd-cities/items", headers=accept)
    assert response.headers["content-type"].startswith("text/html")
    assert "Next" in response.text and "<svg" in response.text


def test_items_and_feature_pages_draw_a_map(client: TestClient) -> None:
    page = client.get("/collections/gd-counties/items", params={"f": "html", "adcode": "440106"})
    assert "天河区" in page.text and '<path d="M' in page.text
    fid = client.get("/collections/gd-counties/items", params={"adcode": "440106"}).json()
    feature_id = fid["features"][0]["id"]
    one = client.get(f"/collections/gd-counties/items/{feature_id}", params={"f": "html"})
    assert one.status_code == 200 and "天河区" in one.text and "<svg" in one.text


def test_points_are_drawn_as_circles(client: TestClient, events_layer: str) -> None:
    page = client.get("/collections/feat-events/items", params={"f": "html", "within": "440106"})
    assert page.text.count("<circle") == 5
