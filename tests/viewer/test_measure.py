"""Measuring in the viewer: known places clicked on the map, the geodesic figure compared
with pyproj's on the WGS 84 ellipsoid, on both grids; Esc, clear, a phone's taps."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.helpers.live import LiveServer
from tests.viewer.browser import ViewerPage, save_screenshot
from tests.viewer.conftest import DESKTOP, PHONE, OpenViewer
from tests.viewer.ground import GRIDS, MapView, line_length, polygon_area, view_around
from tests.viewer.test_controls import overlap

# Canton Tower → Baiyun airport's terminal 2 (about 32 km), and a quadrilateral over the city
CANTON_TOWER = (113.32452, 23.10647)
BAIYUN_AIRPORT = (113.30735, 23.39243)
CITY = [(113.25, 23.08), (113.40, 23.07), (113.42, 23.18), (113.26, 23.21)]
TOLERANCE = 0.01  # ol/sphere's sphere against the ellipsoid: 0.2-0.4 % here
UNITS = {"m": 1.0, "km": 1e3, "m²": 1.0, "公顷": 1e4, "ha": 1e4, "km²": 1e6}


def open_at(
    open_viewer: OpenViewer,
    server: LiveServer,
    grid: str,
    places: list[tuple[float, float]],
    viewport: dict[str, int] = DESKTOP,
    **options: object,
) -> tuple[ViewerPage, MapView]:
    """The viewer at the closest view of ``grid`` that shows all ``places``."""
    # the map is narrower and shorter than the window (the panel, the toolbar): keep clear of both
    room = (viewport["width"] * 0.45, viewport["height"] * 0.5)
    view = view_around(server, grid, places, room)
    viewer = open_viewer(fragment=view.fragment(), viewport=viewport, **options)
    assert viewer.state()["g"] == grid
    return viewer, view


def map_point(viewer: ViewerPage, view: MapView, place: tuple[float, float]) -> tuple[float, float]:
    """The page coordinates (CSS pixels) where ``place`` is drawn."""
    size = viewer.page.evaluate(
        "() => [document.getElementById('map').clientWidth, "
        "document.getElementById('map').clientHeight]"
    )
    box = viewer.page.locator("#map").bounding_box()
    assert box is not None
    dx, dy = view.offset(*place)
    return box["x"] + size[0] / 2 + dx, box["y"] + size[1] / 2 + dy


def readout(viewer: ViewerPage) -> tuple[float, float, str]:
    """The figure measured (unrounded), the figure shown (in base units) and the text."""
    output = viewer.page.locator("#measure-value")
    text = output.inner_text().strip()
    found = re.fullmatch(r"([\d,.]+) (m|km|m²|km²|公顷|ha)", text)
    assert found, f"readout {text!r}"
    shown = float(found[1].replace(",", "")) * UNITS[found[2]]
    return float(output.get_attribute("data-value") or "nan"), shown, text


def assert_near(measured: float, expected: float, what: str) -> None:
    assert abs(measured / expected - 1) < TOLERANCE, (
        f"{what}: {measured:.0f}, pyproj {expected:.0f}"
    )


@pytest.mark.parametrize("grid", GRIDS)
def test_a_line_between_two_known_places_measures_their_geodesic_distance(
    open_viewer: OpenViewer, viewer_server: LiveServer, grid: str
) -> None:
    places = [CANTON_TOWER, BAIYUN_AIRPORT]
    viewer, view = open_at(open_viewer, viewer_server, grid, places)
    page = viewer.page
    button = page.locator("#measure-distance")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    start, end = (map_point(viewer, view, p) for p in places)
    page.mouse.click(*start)
    page.mouse.move(*end, steps=5)
    measured, _, live = readout(viewer)  # the sketch follows the pointer
    assert measured > 0, live
    page.mouse.click(*end)
    page.mouse.click(*end)  # the last point again: finished
    measured, shown, text = readout(viewer)
    expected = line_length(places)
    assert_near(measured, expected, f"{grid} length")
    assert_near(shown, expected, f"{grid} length shown as {text}")
    assert text.endswith(" km")
    assert page.locator("#popup").is_hidden()  # clicks of the tool ask for no feature
    save_screenshot(page, f"measure-distance-{grid}")
    viewer.assert_clean()


@pytest.mark.parametrize("grid", GRIDS)
def test_an_area_of_known_corners_measures_its_geodesic_area(
    open_viewer: OpenViewer, viewer_server: LiveServer, grid: str
) -> None:
    viewer, view = open_at(open_viewer, viewer_server, grid, CITY)
    page = viewer.page
    page.locator("#measure-area").click()
    for corner in CITY:
        page.mouse.click(*map_point(viewer, view, corner))
    assert page.locator("#measure-finish").is_visible()
    page.keyboard.press("Enter")  # finishes from the keyboard
    assert page.locator("#measure-finish").is_hidden()
    measured, shown, text = readout(viewer)
    expected = polygon_area(CITY)
    assert_near(measured, expected, f"{grid} area")
    assert_near(shown, expected, f"{grid} area shown as {text}")
    assert text.endswith(" km²")
    page.locator("#language").click()
    assert readout(viewer)[2] == text  # km² in both languages
    save_screenshot(page, f"measure-area-{grid}")
    viewer.assert_clean()


def test_escape_cancels_and_clear_removes_the_measurements(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    places = [CANTON_TOWER, BAIYUN_AIRPORT]
    viewer, view = open_at(open_viewer, viewer_server, "WebMercatorQuad", places)
    page = viewer.page
    start, end = (map_point(viewer, view, p) for p in places)
    page.locator("#measure-distance").focus()
    page.keyboard.press("Enter")  # the buttons work from the keyboard
    page.mouse.click(*start)
    page.mouse.dblclick(*end)  # a double click finishes too
    finished, _, _ = readout(viewer)
    viewer.act_and_render(page.locator("#grid").click)  # to CGCS2000 and back: the line moves
    assert abs(readout(viewer)[0] / finished - 1) < 1e-6  # with the grid, measured again
    viewer.act_and_render(page.locator("#grid").click)
    assert abs(readout(viewer)[0] / finished - 1) < 1e-6
    assert page.locator("#measure-distance").get_attribute("aria-pressed") == "true"
    page.mouse.click(*end)
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=5)
    assert readout(viewer)[0] < finished * 0.6  # the new line, halfway back
    page.keyboard.press("Escape")  # drops the line being drawn
    assert readout(viewer)[0] == finished
    assert page.locator("#measure-distance").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Escape")  # and then puts the tool away
    assert page.locator("#measure-distance").get_attribute("aria-pressed") == "false"
    drawn = viewer.map_pixels()
    viewer.act_and_render(page.locator("#measure-clear").click)
    assert page.locator("#measure-value").is_hidden()
    assert (viewer.map_pixels() != drawn).any(), "clearing should remove the drawn line"
    viewer.assert_clean()


def test_a_phone_measures_an_area_by_taps(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer, view = open_at(
        open_viewer, viewer_server, "WebMercatorQuad", CITY,
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
    )  # fmt: skip
    page = viewer.page
    controls = ["#zoom-in", "#zoom-out", "#measure-distance", "#measure-area", "#measure-clear",
                "#export-png", ".ol-attribution", ".ol-scale-line", ".toolbar"]  # fmt: skip
    page.locator("#measure-area").tap()
    for corner in CITY:
        page.touchscreen.tap(*map_point(viewer, view, corner))
    controls.append("#measure-finish")
    boxes: dict[str, dict[str, float]] = {}
    for selector in controls:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], selector
        if selector.startswith("#"):  # a tool button: big enough for a finger
            assert box["height"] >= 40 and box["width"] >= 40, (selector, box)
        boxes[selector] = {k: float(box[k]) for k in ("x", "y", "width", "height")}
    for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
        assert not overlap(box_a, box_b), f"{a} overlaps {b}: {box_a} {box_b}"
    page.locator("#measure-finish").tap()
    measured, _, text = readout(viewer)
    assert_near(measured, polygon_area(CITY), f"phone area {text}")
    save_screenshot(page, "measure-phone")
    viewer.assert_clean()
