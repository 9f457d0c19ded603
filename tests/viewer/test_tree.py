"""The layer tree and the map by keyboard: legends, metadata, opacity, panning, zooming."""

from __future__ import annotations

import httpx

from tests.helpers.live import LiveServer
from tests.viewer.browser import changed_share
from tests.viewer.conftest import OpenViewer


def test_legends_and_metadata_come_from_the_catalog(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer = open_viewer()
    page = viewer.page
    style = httpx.get(f"{viewer_server.url}/collections/gd-counties/style.json").json()
    fill = next(layer for layer in style["layers"] if layer["type"] == "fill")["paint"]
    red, green, blue = (int(fill["fill-color"][i : i + 2], 16) for i in (1, 3, 5))
    swatch = page.locator('[data-legend="gd-counties"] rect')
    swatch.wait_for(state="attached")
    assert swatch.get_attribute("fill") == f"rgba({red},{green},{blue},{fill['fill-opacity']})"
    collection = httpx.get(f"{viewer_server.url}/collections/gd-counties").json()
    counties = page.locator('[data-layer-id="gd-counties"]')
    counties.locator("summary").click()
    details = counties.locator("details").inner_text()
    assert collection["license"] in details and collection["attribution"] in details
    assert f"\n{collection['onemap:layer']['version']}\n" in f"\n{details}\n"
    assert "GCJ-02" in counties.locator(".caveat").inner_text()
    factories = page.locator('[data-layer-id="synthetic-factories"]')
    factories.locator("summary").click()
    assert factories.locator(".caveat").count() == 0, "no caveat where the metadata gives none"
    viewer.assert_clean()


def test_opacity_changes_the_pixels(open_viewer: OpenViewer) -> None:
    viewer = open_viewer()
    before = viewer.map_pixels()
    opacity = viewer.page.locator('[data-layer-id="gd-counties"] input.opacity')
    viewer.act_and_render(lambda: opacity.fill("20"))
    assert changed_share(before, viewer.map_pixels()) > 0.05
    viewer.assert_clean()


def test_the_map_pans_and_zooms_with_the_keyboard(open_viewer: OpenViewer) -> None:
    viewer = open_viewer()
    page = viewer.page
    start = viewer.state()
    page.locator("#map").focus()
    viewer.act_and_move(lambda: page.keyboard.press("ArrowRight"))
    moved = viewer.state()
    assert float(moved["c"].split(",")[0]) > float(start["c"].split(",")[0])
    viewer.act_and_move(lambda: page.keyboard.type("+"))
    assert float(viewer.state()["z"]) == float(moved["z"]) + 1
    page.locator("#zoom-out").focus()
    viewer.act_and_move(lambda: page.keyboard.press("Enter"))
    assert float(viewer.state()["z"]) == float(moved["z"])
    viewer.assert_clean()
