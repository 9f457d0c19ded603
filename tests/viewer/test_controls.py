"""The viewer's controls: language, a phone's layout, keys, the time slider."""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import psycopg

from layers.access.keys import KeySpec, create_key
from tests.access.conftest import ADMIN
from tests.helpers.live import LiveServer
from tests.viewer.browser import save_screenshot
from tests.viewer.conftest import PHONE, OpenViewer
from tests.viewer.places import feature, view

CONTROLS = ["h1", "#search", "#panel-toggle", "#grid", "#language", "#zoom-in", "#zoom-out",
            ".ol-attribution", ".ol-scale-line"]  # fmt: skip


def test_the_language_switch_changes_every_label(open_viewer: OpenViewer) -> None:
    viewer = open_viewer()
    page = viewer.page
    assert page.locator("#panel h2").inner_text() == "图层"
    assert page.locator("#grid").inner_text() == "Web 墨卡托"
    counties = page.locator('[data-layer-id="gd-counties"] .layer-name')
    assert counties.inner_text().strip() == "广东省县级行政区"
    page.locator("#language").click()
    assert page.locator("#panel h2").inner_text() == "Layers"
    assert page.locator("#grid").inner_text() == "Web Mercator"
    assert page.locator("#language").get_attribute("aria-label") == "Switch to Chinese"
    assert page.locator("#zoom-in").get_attribute("aria-label") == "Zoom in"
    assert page.locator("#search").get_attribute("placeholder").startswith("Place name")
    assert counties.inner_text().strip() == "Guangdong county-level divisions"
    assert page.locator("html").get_attribute("lang") == "en"
    assert viewer.state()["lang"] == "en"
    page.locator("#language").click()
    assert page.locator("#panel h2").inner_text() == "图层"
    viewer.assert_clean()


def test_every_control_is_labelled(open_viewer: OpenViewer) -> None:
    page = open_viewer().page
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, input, [role=combobox]')]
            .filter(e => !e.getAttribute('aria-label') && !e.labels?.length
                         && !e.textContent.trim())
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


def test_a_phone_lays_the_controls_out_without_overlap(open_viewer: OpenViewer) -> None:
    viewer = open_viewer(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = viewer.page
    boxes = {}
    for selector in CONTROLS:
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["width"] > 0, f"{selector} is not shown on a phone"
        boxes[selector] = box
        assert box["x"] >= 0 and box["y"] >= 0, selector
        assert box["x"] + box["width"] <= PHONE["width"] + 0.5, selector
        assert box["y"] + box["height"] <= PHONE["height"] + 0.5, selector
    for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
        assert not overlap(box_a, box_b), f"{a} overlaps {b}: {box_a} {box_b}"
    map_box = page.locator("#map").bounding_box()
    assert map_box is not None and map_box["height"] > PHONE["height"] * 0.6
    assert page.locator("#panel").is_hidden()  # the layer list waits behind its button
    save_screenshot(page, "phone")
    page.locator("#panel-toggle").tap()
    assert page.locator("#panel").is_visible()
    assert page.locator("#panel-toggle").get_attribute("aria-expanded") == "true"
    panel, toolbar = page.locator("#panel").bounding_box(), page.locator(".toolbar").bounding_box()
    assert panel and toolbar and not overlap(panel, toolbar)
    save_screenshot(page, "phone-layers")
    viewer.assert_clean()


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def new_key(database_url: str) -> str:
    async def create() -> str:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            _, secret = await create_key(conn, KeySpec("gd-nr", "viewer test"), ADMIN)
            return secret

    # Playwright's sync API keeps an event loop in this thread: create it in another
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, create()).result()


def test_a_key_in_the_viewer_url_goes_with_every_request(
    open_viewer: OpenViewer, sample_url: str
) -> None:
    key = new_key(sample_url)
    viewer = open_viewer(query=f"?tk={key}", fragment="#lang=zh")
    readings = '[data-layer-id="synthetic-station-readings"] input[type=checkbox]'
    viewer.act_and_render(viewer.page.locator(readings).check)
    viewer.click_map_centre()
    requests = viewer.watch.requests
    kinds = {urlsplit(u).path.split("/")[1] for u in requests}
    assert {"viewer", "collections", "tileMatrixSets"} <= kinds
    unkeyed = [u for u in requests if parse_qs(urlsplit(u).query).get("tk") != [key]]
    assert unkeyed == []
    viewer.assert_clean()


def test_the_time_slider_changes_what_the_time_layer_shows(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    instant = "2025-06-10T00:00:00Z"
    station = feature(viewer_server, "synthetic-station-readings", datetime=instant)
    lon, lat = station["geometry"]["coordinates"]
    fragment = view((lon, lat), 14, "synthetic-station-readings", t=instant)
    viewer = open_viewer(fragment=fragment)
    first = viewer.click_map_centre()
    assert js_number(station["properties"]["pm25"]) in first, first
    slider = viewer.page.locator("#time-slider")
    slider.focus()
    viewer.act_and_render(lambda: viewer.page.keyboard.press("ArrowRight"))
    assert viewer.state()["t"] == "2025-06-10T01:00:00Z"
    asked = viewer.watch.queries("/collections/synthetic-station-readings/items")
    assert asked[-1]["datetime"] == ["2025-06-10T01:00:00Z"]
    station_id = str(station["properties"]["station_id"])
    later = feature(
        viewer_server,
        "synthetic-station-readings",
        datetime=asked[-1]["datetime"][0],
        station_id=station_id,
    )
    second = viewer.click_map_centre()
    assert js_number(later["properties"]["pm25"]) in second and second != first, second
    viewer.assert_clean()


def js_number(value: float) -> str:
    """``value`` as JavaScript's String() writes it (35.0 → "35")."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
