"""Exporting the view as a PNG: the downloaded file decoded — its size in device pixels,
the layers as the screen shows them (a measured line included), the attribution and the
scale bar drawn into it — on both grids and two pixel ratios."""

from __future__ import annotations

import io
import re
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.live import LiveServer
from tests.viewer.browser import SCREENSHOTS, ViewerPage, changed_share, drawn_share
from tests.viewer.conftest import PHONE, OpenViewer
from tests.viewer.ground import MapView, metres_per_pixel
from tests.viewer.test_measure import BAIYUN_AIRPORT, CANTON_TOWER, map_point, open_at

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MEASURE_INK = (0xB0, 0x00, 0x20)  # a finished measurement's line (viewer/src/measure.js)
BOX_CSS = 8 + 22  # the attribution box: 8 px from the bottom, 22 px high (export.js)
SCALE_BOX_CSS = 8 + 28
CONTROLS = (
    "#map .ol-overlaycontainer-stopevent, .tools, .zoom"  # what a screenshot shows over the layers
)


def export_png(viewer: ViewerPage, name: str) -> tuple[str, np.ndarray]:
    page = viewer.page
    started = time.perf_counter()
    with page.expect_download() as info:
        page.locator("#export-png").click()
    download = info.value
    data = Path(download.path()).read_bytes()
    took = time.perf_counter() - started  # for people (ADR 0012), not asserted
    print(f"export {name}: {len(data)} bytes in {took:.2f} s from the click to the file")
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / f"export-{name}.png").write_bytes(data)
    return download.suggested_filename, np.asarray(image.convert("RGB")).astype(np.int16)


def map_size(viewer: ViewerPage) -> tuple[int, int]:
    """The map's size in CSS pixels, as OpenLayers reads it."""
    width, height = viewer.page.evaluate(
        "() => ['clientWidth', 'clientHeight'].map(side => document.getElementById('map')[side])"
    )
    return int(width), int(height)


def dark(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(pixels.max(axis=2) < 110)


def paper(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(pixels.min(axis=2) >= 248)


def longest_dark_run(pixels: np.ndarray) -> int:
    """The longest horizontal run of dark pixels in any row."""
    best = 0
    for row in dark(pixels):
        padded = np.concatenate(([0], row.astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(padded))
        if len(edges):
            best = max(best, int((edges[1::2] - edges[::2]).max()))
    return best


def scale_label_metres(text: str) -> float:
    found = re.fullmatch(r"([\d.]+) (m|km)", text.strip())
    assert found, text
    return float(found[1]) * (1000 if found[2] == "km" else 1)


@pytest.mark.parametrize(("grid", "ratio"), [("WebMercatorQuad", 2), ("CGCS2000Quad", 1)])
def test_the_view_exports_as_a_png_with_attribution_and_scale_bar(
    open_viewer: OpenViewer, viewer_server: LiveServer, grid: str, ratio: int
) -> None:
    places = [CANTON_TOWER, BAIYUN_AIRPORT]
    viewer, view = open_at(open_viewer, viewer_server, grid, places, device_scale_factor=ratio)
    page = viewer.page
    draw_line(viewer, view)
    name, pixels = export_png(viewer, f"{grid}-x{ratio}")

    stamp = datetime.strptime(name, "onemap-%Y%m%d-%H%M.png")
    assert abs((datetime.now() - stamp).total_seconds()) < 600, name
    width, height = map_size(viewer)
    assert page.evaluate("devicePixelRatio") == ratio
    assert pixels.shape == (round(height * ratio), round(width * ratio), 3)
    assert drawn_share(pixels) > 0.5, "the admin boundaries cover this view"
    ink = (np.abs(pixels - np.array(MEASURE_INK)).max(axis=2) < 40).sum()
    assert ink > 100 * ratio, "the measured line is composed too"
    scale_line = scale_line_shown(viewer)
    shot = layers_on_screen(viewer)
    assert shot.shape == pixels.shape
    above = slice(0, pixels.shape[0] - SCALE_BOX_CSS * ratio - 4)
    assert changed_share(shot[above], pixels[above]) < 0.01, "the picture is what the map shows"
    assert_attribution_drawn(pixels, shot, ratio)
    assert_scale_bar_drawn(pixels, scale_line, ratio, view)
    viewer.assert_clean()  # every tile came from this server: nothing tainted the canvas


def scale_line_shown(viewer: ViewerPage) -> tuple[float, str]:
    """The width (CSS pixels) and the label of the scale line on the screen."""
    inner = viewer.page.locator(".ol-scale-line-inner")
    width = inner.evaluate("e => parseFloat(e.style.width)")
    return float(width), inner.inner_text()


def layers_on_screen(viewer: ViewerPage) -> np.ndarray:
    """A screenshot of the map's layers with the page's controls hidden."""
    viewer.page.evaluate(  # the page's policy allows no inline style sheet: one by one
        "s => document.querySelectorAll(s).forEach(e => { e.style.visibility = 'hidden'; })",
        CONTROLS,
    )
    png = viewer.page.locator("#map").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def assert_attribution_drawn(pixels: np.ndarray, shot: np.ndarray, ratio: int) -> None:
    bottom = slice(pixels.shape[0] - BOX_CSS * ratio, pixels.shape[0] - 8 * ratio)
    right = slice(pixels.shape[1] - 200 * ratio, pixels.shape[1] - 8 * ratio)
    attribution, under = pixels[bottom, right], shot[bottom, right]
    assert paper(attribution).mean() > 0.5, "the attribution's box"
    assert changed_share(under, attribution) > 0.5, "drawn over the map"
    assert dark(attribution).sum() > 40 * ratio, "the attribution's text"


def assert_scale_bar_drawn(
    pixels: np.ndarray, scale_line: tuple[float, str], ratio: int, view: MapView
) -> None:
    width, label = scale_line
    rows = slice(pixels.shape[0] - SCALE_BOX_CSS * ratio, pixels.shape[0] - 8 * ratio)
    box = pixels[rows, : int((width + 40) * ratio)]
    assert abs(longest_dark_run(box) - width * ratio) <= 2 * ratio, "the screen's bar"
    metres_per_css_pixel = scale_label_metres(label) / width
    assert abs(metres_per_css_pixel / metres_per_pixel(view) - 1) < 0.02, label


def draw_line(viewer: ViewerPage, view: MapView) -> None:
    page = viewer.page
    page.locator("#measure-distance").click()
    start, end = map_point(viewer, view, CANTON_TOWER), map_point(viewer, view, BAIYUN_AIRPORT)
    page.mouse.click(*start)
    page.mouse.dblclick(*end)
    page.keyboard.press("Escape")  # the tool put away: the line stays
    assert page.locator("#measure-distance").get_attribute("aria-pressed") == "false"


def test_a_phone_exports_sharp_with_the_attribution_wrapped_not_cut(
    open_viewer: OpenViewer,
) -> None:
    ratio = 3
    viewer = open_viewer(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=ratio)
    _, pixels = export_png(viewer, "phone-x3")
    width, _ = map_size(viewer)
    assert pixels.shape[1] == width * ratio  # a phone's picture at its own pixel ratio
    # the box's right padding, from its bottom edge up: as tall as two lines or more
    column = paper(pixels[:, pixels.shape[1] - 12 * ratio][:, np.newaxis])[:, 0]
    bottom = pixels.shape[0] - 8 * ratio - 1
    assert column[bottom], "the attribution box ends 8 px above the bottom"
    tall = int(np.argmin(column[bottom::-1]))  # rows of paper up to the box's top
    assert tall >= (2 * 16 + 6) * ratio - 2, f"{tall / ratio} px: one line, the text was cut"
    viewer.assert_clean()
