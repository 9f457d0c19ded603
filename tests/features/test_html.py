"""HTML pages for every resource, in Chinese and English, with an inline SVG map."""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ingest.sample import SAMPLE_LAYERS, SYNTHETIC_LAYERS
from layers.catalog import load_catalog
from layers.crs import DEFAULT as DEFAULT_CRS
from layers.features import Binder
from layers.features.plan import FeaturePlan
from layers.settings import ServiceSettings
from ogc.common.items_request import items_query
from ogc.html import pages as html
from ogc.html.svg_map import MAX_VERTICES, svg_map

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


# --- every page of the sample data, the map's size, the event loop (issue 11) -------------

SAMPLE_IDS = [row[1] for row in SAMPLE_LAYERS] + [row[1] for row in SYNTHETIC_LAYERS]
VERTEX = re.compile(r"-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?")


def html_pages(client: TestClient, max_limit: int) -> list[tuple[str, dict[str, str]]]:
    """Every HTML page the sample data has: service pages, then per layer its description,
    queryables, items at the default and at the largest limit, and its first feature."""
    pages: list[tuple[str, dict[str, str]]] = [
        ("/", {}), ("/conformance", {}), ("/collections", {}), ("/api.html", {}),
    ]  # fmt: skip
    for layer_id in SAMPLE_IDS:
        base = f"/collections/{layer_id}"
        first = client.get(f"{base}/items", params={"limit": "1"}).json()["features"][0]["id"]
        pages += [(base, {}), (f"{base}/queryables", {}), (f"{base}/items", {})]
        pages += [(f"{base}/items", {"limit": str(max_limit)}), (f"{base}/items/{first}", {})]
    return pages


def test_every_html_page_of_the_sample_data_answers(
    client: TestClient, settings: ServiceSettings
) -> None:
    """Their speed is measured by bench/html_pages.py (bench/README.md), not here."""
    pages = html_pages(client, settings.max_limit)
    assert len(pages) == 4 + 5 * len(SAMPLE_IDS)
    for path, params in pages:
        response = client.get(path, params={"f": "html", **params})
        assert response.status_code == 200, (path, params, response.text[:200])
        assert response.headers["content-type"].startswith("text/html"), path


def map_vertices(page: str) -> int:
    svg = page[page.index("<svg") : page.index("</svg>")]
    paths = re.findall(r'<path d="([^"]*)"', svg)
    return sum(len(VERTEX.findall(d)) for d in paths) + svg.count("<circle")


@pytest.mark.parametrize("layer_id", ["gd-counties", "gd-cities", "synthetic-landuse"])
def test_the_map_of_the_largest_page_has_a_bounded_number_of_vertices(
    client: TestClient, settings: ServiceSettings, layer_id: str
) -> None:
    page = client.get(
        f"/collections/{layer_id}/items", params={"f": "html", "limit": str(settings.max_limit)}
    )
    drawn = map_vertices(page.text)
    assert 1_000 < drawn <= MAX_VERTICES, drawn  # drawn, and within the bound


def test_a_feature_page_draws_the_province_outline_within_the_bound(client: TestClient) -> None:
    fid = client.get("/collections/gd-province/items").json()["features"][0]["id"]
    page = client.get(f"/collections/gd-province/items/{fid}", params={"f": "html"})
    assert 500 < map_vertices(page.text) <= MAX_VERTICES  # 24,739 vertices stored


def test_healthz_answers_while_a_page_is_being_drawn(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawing is held until /healthz has answered: had it run on the event loop,
    /healthz could not be answered at all until the hold timed out."""
    drawing, release = threading.Event(), threading.Event()
    real_map = html.svg_map

    def held_map(geometries: Any) -> str | None:
        drawing.set()
        release.wait(timeout=10)
        return real_map(geometries)

    monkeypatch.setattr(html, "svg_map", held_map)
    with ThreadPoolExecutor(max_workers=1) as background:
        page = background.submit(
            client.get, "/collections/gd-counties/items", params={"f": "html", "limit": "200"}
        )
        try:
            assert drawing.wait(timeout=10), "the page never started drawing"
            started = time.perf_counter()
            health = client.get("/healthz")
            waited = time.perf_counter() - started
            still_drawing = not page.done()
        finally:
            release.set()
        assert page.result(timeout=30).status_code == 200
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert still_drawing and waited < 2, waited


def test_head_of_an_html_page_has_the_length_of_its_body(client: TestClient) -> None:
    identity = {"Accept-Encoding": "identity"}
    params = {"f": "html"}
    get = client.get("/collections/gd-cities/items", params=params, headers=identity)
    head = client.head("/collections/gd-cities/items", params=params, headers=identity)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(get.content) > 10_000


# --- the drawing itself, without a database ------------------------------------------------


def square(n: int) -> dict[str, Any]:
    """The unit square at the equator with n vertices along each edge."""
    steps = [i / n for i in range(n)]
    ring = [[s, 0.0] for s in steps] + [[1.0, s] for s in steps]
    ring += [[1.0 - s, 1.0] for s in steps] + [[0.0, 1.0 - s] for s in steps] + [[0.0, 0.0]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize("per_edge", [1, 10_000])
def test_a_square_is_drawn_as_its_four_corners_fitted_to_the_box(per_edge: int) -> None:
    svg = svg_map([square(per_edge)])
    assert svg is not None
    # 640×400 box, 92 %: 368 px a side, centred
    assert '<path d="M136.0,384.0 L504.0,384.0 L504.0,16.0 L136.0,16.0 L136.0,384.0Z"' in svg


def test_a_dense_wiggly_outline_stays_within_the_budget() -> None:
    angles = [2 * math.pi * i / 200_000 for i in range(200_000)]
    ring = [[math.cos(a) * (1 + 0.05 * math.sin(97 * a)), math.sin(a)] for a in angles]
    ring.append(ring[0])
    wiggly = {"type": "Polygon", "coordinates": [ring]}
    assert len(VERTEX.findall(svg_map([wiggly]) or "")) <= MAX_VERTICES
    assert 100 < len(VERTEX.findall(svg_map([wiggly], budget=500) or "")) <= 500


def test_points_are_merged_per_pixel_only_beyond_the_budget() -> None:
    many = [{"type": "Point", "coordinates": [i % 100 / 10, i // 100 / 10]} for i in range(5000)]
    assert (svg_map(many) or "").count("<circle") == 5000
    assert 0 < (svg_map(many, budget=1000) or "").count("<circle") <= 1000


def test_html_pages_read_simplified_geometries_whatever_was_read_before(
    sample_url: str, settings: ServiceSettings
) -> None:
    """The statement frames are kept per output shape in the layer's plan: the HTML page's
    simplification is part of that shape, so a JSON page read first (same layer, CRS and
    limit) does not hand its full-resolution statement to the HTML page."""
    with psycopg.connect(sample_url) as conn:
        catalog = load_catalog(conn)
    layer = catalog.get("gd-counties")
    plan = FeaturePlan.of(layer)
    query = items_query(plan, {"limit": "1000"}, settings, catalog)
    query = dataclasses.replace(query, output_crs=DEFAULT_CRS)
    drawn = dataclasses.replace(query, map_detail=html.MAP_DETAIL)
    for first, then in ((query, drawn), (drawn, query)):
        before = plan.geojson_page_sql(first, Binder(literal=False)).as_string(None)
        after = plan.geojson_page_sql(then, Binder(literal=False)).as_string(None)
        assert ("ST_Simplify" in before) == (first is drawn)
        assert ("ST_Simplify" in after) == (then is drawn)
