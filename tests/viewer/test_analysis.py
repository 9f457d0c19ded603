"""The 分析 panel: draw a point in Guangzhou, run analyses as OGC API – Processes jobs, see
the progress and the result drawn, download it; a bad input shows the server's message."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
from playwright.sync_api import FloatRect
from shapely.geometry import Polygon, shape

from tests.helpers.live import LiveServer
from tests.viewer.browser import RENDER_TIMEOUT_MS, ViewerPage, changed_share, save_screenshot
from tests.viewer.conftest import PHONE, OpenViewer
from tests.viewer.places import view
from tests.viewer.test_controls import new_key

TIANHE = (113.3245, 23.1064)  # the analyses' own example location (spatial/analyses)
OUTPUT = "onemap:output"  # viewer/src/results.js
BAD_REQUEST = "the server responded with a status of 400 (Bad Request)"  # chromium's words
EARTH_RADIUS_M = 6378137.0
CORNERS = [
    (-260, -90),
    (-20, -90),
    (-20, 90),
    (-260, 90),
]  # pixels from the centre, left of the panel
# Records every text the job's status line shows, for the progress assertions.
WATCH_STATUS = """() => {
  const status = document.getElementById('analysis-status');
  window.statusSeen = [];
  new MutationObserver(() => window.statusSeen.push([status.dataset.status, status.textContent]))
    .observe(status, { childList: true, characterData: true, subtree: true });
}"""


INPUT_LAYER = {"nearest-facilities": "synthetic-facilities", "service-area": "synthetic-roads"}


def panel_on(
    open_viewer: OpenViewer, process: str, at: str = view(TIANHE, 11), **more: Any
) -> ViewerPage:
    """A viewer at ``at`` (a URL fragment) with the panel open and ``process`` chosen."""
    viewer = open_viewer(fragment=at, **more)
    viewer.page.locator("#analysis-toggle").click()
    viewer.page.locator("#analysis-process").select_option(process)
    if process in INPUT_LAYER:  # other tests' layers of the same geometry may be listed first
        viewer.page.locator("#analysis-layer").select_option(INPUT_LAYER[process])
    return viewer


def draw_point_at_map_centre(viewer: ViewerPage) -> None:
    viewer.page.locator("#analysis-draw-point").click()
    box = viewer.page.locator("#map").bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    viewer.act_and_render(lambda: viewer.page.mouse.click(*centre))


def draw_area(viewer: ViewerPage) -> tuple[FloatRect, list[tuple[float, float]]]:
    """Draw the rectangle ``CORNERS`` around the map's centre; the map's box, the corners."""
    viewer.page.locator("#analysis-draw-area").click()
    box = viewer.page.locator("#map").bounding_box()
    assert box is not None
    corners = [(box["width"] / 2 + dx, box["height"] / 2 + dy) for dx, dy in CORNERS]
    for x, y in [*corners, corners[0]]:  # the first corner again closes the area
        viewer.page.mouse.click(box["x"] + x, box["y"] + y)
    viewer.page.locator("#analysis-where").filter(has_text="4 个顶点").wait_for()
    return box, corners


def run_and_wait(viewer: ViewerPage) -> str:
    """Run the chosen analysis; the id of the job whose result the panel shows."""
    viewer.page.locator("#analysis-run").click()
    result = viewer.page.locator("#analysis .result[data-drawn]:not([hidden])")
    result.wait_for(timeout=RENDER_TIMEOUT_MS)  # drawn: the map has rendered it
    return str(result.get_attribute("data-drawn"))


def downloaded(viewer: ViewerPage) -> tuple[str, dict[str, Any]]:
    with viewer.page.expect_download() as download:
        viewer.page.locator("#analysis-download").click()
    path = download.value.path()
    return download.value.suggested_filename, json.loads(Path(path).read_text("utf-8"))


def server_results(server: LiveServer, job: str, key: str | None = None) -> dict[str, Any]:
    params = {"tk": key} if key else {}
    response = httpx.get(f"{server.url}/jobs/{job}/results", params=params)
    response.raise_for_status()
    return dict(response.json())


def assert_download_is_the_jobs_result(download: dict[str, Any], results: dict[str, Any]) -> None:
    collections = {k: v for k, v in results.items() if is_collection(v)}
    assert collections
    for output, collection in collections.items():
        mine = [f for f in download["features"] if f["properties"][OUTPUT] == output]
        untagged = [
            {**f, "properties": {k: v for k, v in f["properties"].items() if k != OUTPUT}}
            for f in mine
        ]
        assert untagged == collection["features"], output
    assert len(download["features"]) == sum(len(c["features"]) for c in collections.values())
    values = {k: v for k, v in results.items() if k not in collections}
    assert download.get("onemap:values", {}) == values
    assert download["crs"] == next(iter(collections.values()))["crs"]


def is_collection(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "FeatureCollection"


def mercator(lon: float, lat: float) -> tuple[float, float]:
    x = EARTH_RADIUS_M * math.radians(lon)
    return x, EARTH_RADIUS_M * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def view_of(viewer: ViewerPage) -> tuple[tuple[float, float], float]:
    """The view in the URL: its centre in Web Mercator metres, and metres a pixel."""
    state = viewer.state()
    lon, lat = (float(n) for n in state["c"].split(","))
    return mercator(lon, lat), 2 * math.pi * EARTH_RADIUS_M / 256 / 2 ** float(state["z"])


def pixel_of(viewer: ViewerPage, size: tuple[int, int], lon: float, lat: float) -> tuple[int, int]:
    """Where lon/lat is drawn, from the view in the URL (Web Mercator), computed here."""
    (cx, cy), metres = view_of(viewer)
    x, y = mercator(lon, lat)
    height, width = size
    return round(width / 2 + (x - cx) / metres), round(height / 2 - (y - cy) / metres)


def cgcs2000_pixel_of(
    viewer: ViewerPage, size: tuple[int, int], lon: float, lat: float
) -> tuple[int, int]:
    """Where lon/lat is drawn on the CGCS2000Quad grid (2 × 1 tiles of 256 px at level 0)."""
    state = viewer.state()
    assert state["g"] == "CGCS2000Quad"
    centre_lon, centre_lat = (float(n) for n in state["c"].split(","))
    degrees = 180 / 256 / 2 ** float(state["z"])
    height, width = size
    return (
        round(width / 2 + (lon - centre_lon) / degrees),
        round(height / 2 - (lat - centre_lat) / degrees),
    )


def lon_lat_of(
    viewer: ViewerPage, size: tuple[int, int], column: float, row: float
) -> tuple[float, float]:
    """The lon/lat a map pixel shows (the inverse of ``pixel_of``)."""
    (cx, cy), metres = view_of(viewer)
    height, width = size
    x, y = cx + (column - width / 2) * metres, cy - (row - height / 2) * metres
    lat = math.degrees(2 * math.atan(math.exp(y / EARTH_RADIUS_M)) - math.pi / 2)
    return math.degrees(x / EARTH_RADIUS_M), lat


def outside_panel(viewer: ViewerPage, size: tuple[int, int]) -> np.ndarray:
    """A mask of the map's pixels the analysis panel does not cover."""
    panel, area = (viewer.page.locator(s).bounding_box() for s in ("#analysis", "#map"))
    assert panel is not None and area is not None
    mask = np.ones(size, dtype=bool)
    left, top = round(panel["x"] - area["x"]), round(panel["y"] - area["y"])
    bottom, right = top + round(panel["height"]) + 1, left + round(panel["width"]) + 1
    mask[max(top, 0) : bottom, max(left, 0) : right] = False
    return mask


def window(pixels: np.ndarray, at: tuple[int, int], half: int = 3) -> np.ndarray:
    x, y = at
    return pixels[y - half : y + half + 1, x - half : x + half + 1]


def tint(before: np.ndarray, after: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    """How the mean colour around ``at`` moved: a translucent area's tint (labels under it
    change by less than a pixel threshold, so a mean rather than a share of pixels)."""
    return window(after, at, 7).mean(axis=(0, 1)) - window(before, at, 7).mean(axis=(0, 1))


def test_nearest_facilities_of_a_drawn_point_are_drawn_and_downloaded(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer = panel_on(open_viewer, "nearest-facilities")
    draw_point_at_map_centre(viewer)
    where = viewer.page.locator("#analysis-where").inner_text()
    lon, lat = (float(n) for n in where.split("：")[1].split(","))
    assert abs(lon - TIANHE[0]) < 1e-3 and abs(lat - TIANHE[1]) < 1e-3  # a pixel is ~76 m
    assert viewer.page.locator("#popup").is_hidden()  # the click drew; it opened no popup
    viewer.page.locator("#analysis-k").fill("3")
    before = viewer.map_pixels()
    job = run_and_wait(viewer)
    after = viewer.map_pixels("analysis-nearest")

    results = server_results(viewer_server, job)
    nearest = results["nearest"]["features"]
    assert [f["properties"]["rank"] for f in nearest] == [1, 2, 3]
    for facility in nearest:  # a purple disc where each facility is, not there before
        at = pixel_of(viewer, after.shape[:2], *facility["geometry"]["coordinates"])
        assert changed_share(window(before, at), window(after, at)) > 0.8, facility
        assert (window(after, at)[..., 2] > window(after, at)[..., 1] + 40).mean() > 0.5
    beside = outside_panel(viewer, after.shape[:2])  # the map as seen, not the panel over it
    assert changed_share(before[beside][None], after[beside][None]) < 0.01  # nothing else
    listed = viewer.page.locator("#analysis-summary li.nearest").all_inner_texts()
    assert [line.split(" — ")[0] for line in listed] == [
        f"{f['properties']['rank']}. {f['properties']['name']}" for f in nearest
    ]
    name, document = downloaded(viewer)
    assert name == f"onemap-nearest-facilities-{job[:8]}.geojson"
    assert_download_is_the_jobs_result(document, results)
    viewer.assert_clean()


def test_drive_time_runs_as_a_job_whose_progress_is_shown(
    open_viewer: OpenViewer, viewer_server: LiveServer, sample_url: str
) -> None:
    key = new_key(sample_url)  # the job is the key's: anonymous callers cannot see it
    viewer = panel_on(open_viewer, "service-area", view(TIANHE, 9), query=f"?tk={key}")
    draw_point_at_map_centre(viewer)
    before = viewer.map_pixels()
    viewer.page.evaluate(WATCH_STATUS)
    job = run_and_wait(viewer)
    after = viewer.map_pixels("analysis-drive-time")

    seen = viewer.page.evaluate("window.statusSeen")
    assert seen[0] == ["accepted", "排队中 · 0%"] and seen[-1] == ["successful", "已完成 · 100%"]
    percents = [int(text.split("· ")[1].rstrip("%")) for _, text in seen]
    assert percents == sorted(percents)
    assert viewer.page.locator("#analysis-progress").get_attribute("value") == "100"
    polled = [u for u in viewer.watch.requests if urlsplit(u).path == f"/jobs/{job}"]
    assert polled and all(parse_qs(urlsplit(u).query)["tk"] == [key] for u in polled)
    assert httpx.get(f"{viewer_server.url}/jobs/{job}").status_code == 404

    results = server_results(viewer_server, job, key)
    widest = max(
        (f for f in results["areas"]["features"] if f["geometry"]),
        key=lambda f: f["properties"]["minutes"],
    )
    inside = shape(widest["geometry"]).representative_point()
    at = pixel_of(viewer, after.shape[:2], inside.x, inside.y)
    shift = tint(before, after, at)
    assert shift[1] < -20 and shift[2] > shift[1] + 20, shift  # purple over the map
    _, document = downloaded(viewer)
    assert_download_is_the_jobs_result(document, results)
    assert document["onemap:values"]["reached_nodes"] > 0
    viewer.assert_clean()


def test_a_point_off_the_road_network_shows_the_servers_message(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    far = (116.3, 23.1064)  # off Shantou's coast: beyond 5 km of any synthetic road
    refused = httpx.post(
        f"{viewer_server.url}/processes/service-area/execution",
        json={"inputs": {"location": list(far), "roads": {"collection": "synthetic-roads"}}},
    )
    assert refused.status_code == 400
    message = refused.json()["description"]
    viewer = panel_on(open_viewer, "service-area", view(far, 11))
    centre = viewer.page.locator("#analysis-centre")  # the keyboard's way to place a point
    centre.focus()
    viewer.page.keyboard.press("Enter")
    viewer.page.locator("#analysis-run").focus()
    viewer.page.keyboard.press("Enter")
    error = viewer.page.locator("#analysis-error")
    error.filter(has_text=message).wait_for(timeout=RENDER_TIMEOUT_MS)
    assert error.inner_text() == f"分析失败：{message}"
    assert viewer.page.locator("#analysis-status").get_attribute("data-status") == "failed"
    viewer.page.locator("#language").click()
    assert error.inner_text() == f"The analysis failed: {message}"
    assert viewer.page.locator("#analysis-run").inner_text() == "Run the analysis"

    # refused before a job exists: the execution's own 400 (the browser checks only numbers)
    unreadable = {"location": list(far), "roads": {"collection": "synthetic-roads"}}
    refused = httpx.post(
        f"{viewer_server.url}/processes/service-area/execution",
        json={"inputs": {**unreadable, "minutes": [10, None]}},
        headers={"Prefer": "respond-async"},
    )
    assert refused.status_code == 400
    viewer.page.locator("#analysis-minutes").fill("10, ten")  # sent as [10, null]
    viewer.page.keyboard.press("Enter")  # submits the form
    refusal = f"The analysis failed: {refused.json()['description']}"
    error.filter(has_text=refusal).wait_for(timeout=RENDER_TIMEOUT_MS)
    assert error.inner_text() == refusal
    # the browser itself logs the refused request; it is the only error
    assert viewer.watch.errors == [f"Failed to load resource: {BAD_REQUEST}"]
    viewer.watch.errors.clear()
    viewer.assert_clean()


def test_an_area_drawn_on_the_map_is_the_affected_areas_incident(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer = panel_on(open_viewer, "affected-area")
    box, corners = draw_area(viewer)
    middle = (box["width"] / 2, box["height"] / 2)
    viewer.page.locator("#analysis-radius").fill("0")  # the area as drawn, no margin
    before = viewer.map_pixels()
    job = run_and_wait(viewer)
    after = viewer.map_pixels("analysis-affected-area")

    results = server_results(viewer_server, job)
    (zone,) = results["zone"]["features"]
    drawn = Polygon([lon_lat_of(viewer, (box["height"], box["width"]), *c) for c in corners])
    assert shape(zone["geometry"]).symmetric_difference(drawn).area < 0.01 * drawn.area
    assert {f["properties"]["adcode"] for f in results["units"]["features"]} >= {"440106"}
    shift = tint(before, after, (round(middle[0] - 140), round(middle[1] + 60)))
    assert shift[1] < -20 and shift[2] > shift[1] + 20, shift  # purple over the map
    _, document = downloaded(viewer)
    assert_download_is_the_jobs_result(document, results)
    viewer.assert_clean()


def test_a_result_stays_in_place_when_the_grid_switches(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer = panel_on(open_viewer, "nearest-facilities")
    viewer.page.locator("#analysis-centre").click()
    job = run_and_wait(viewer)
    nearest = server_results(viewer_server, job)["nearest"]["features"]
    viewer.act_and_render(lambda: viewer.page.locator("#grid").click())  # the new grid's tiles
    after = viewer.map_pixels("analysis-cgcs2000")
    places = [f["geometry"]["coordinates"] for f in nearest]
    # Features left in Web Mercator metres would lie millions of degrees away, off the map.
    for at in (cgcs2000_pixel_of(viewer, after.shape[:2], *place) for place in places):
        disc = window(after, at)
        purple = disc[..., 2] > disc[..., 1] + 40  # the disc, around its rank's white digit
        assert purple.mean() > 0.3, (at, disc)
    viewer.assert_clean()


def test_the_panel_fits_a_phone_and_leaves_the_map_above_it(open_viewer: OpenViewer) -> None:
    viewer = panel_on(open_viewer, "nearest-facilities", viewport=PHONE)
    panel, area = (viewer.page.locator(s).bounding_box() for s in ("#analysis", "#map"))
    assert panel is not None and area is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"]
    assert panel["y"] + panel["height"] <= area["y"] + area["height"]
    assert panel["y"] - area["y"] > area["height"] * 0.3  # room above it to draw on
    run = viewer.page.locator("#analysis-run")
    run.scroll_into_view_if_needed()
    box = run.bounding_box()
    assert box is not None and box["height"] >= 44  # a finger's target
    save_screenshot(viewer.page, "analysis-phone")
    viewer.assert_clean()
