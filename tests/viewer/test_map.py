"""The map in a browser: drawn, layers toggled, a county clicked, the grid switched, the
view restored from its URL — with no console error and no request to another host."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.helpers.catalog import publish_dem
from tests.helpers.live import LiveServer
from tests.helpers.wait import wait_for_layer
from tests.viewer.browser import changed_share, drawn_share, save_screenshot
from tests.viewer.conftest import OpenViewer
from tests.viewer.places import inside, view

TIANHE = {"adcode": "440106"}


def test_the_first_map_is_drawn_from_this_server_alone(open_viewer: OpenViewer) -> None:
    viewer = open_viewer()
    pixels = viewer.map_pixels("first-map")
    assert drawn_share(pixels) > 0.2, "the admin boundaries should cover much of the map"
    assert len({tuple(p) for p in pixels.reshape(-1, 3)[::7].tolist()}) > 20
    tiles = viewer.watch.queries("/map/tiles/WebMercatorQuad/")
    assert tiles, "the base map comes from OGC API – Tiles map tiles"
    on = viewer.state()["l"].split(",")
    assert on[-2:] == ["gd-province", "gd-counties"], on  # after any raster (a DEM)
    first_map_ms = int(viewer.page.locator("#onemap-viewer").get_attribute("data-first-map-ms"))
    requests = len(viewer.watch.requests)
    print(f"first map complete {first_map_ms} ms after navigation; {requests} requests")
    viewer.assert_clean()


def test_the_page_policy_refuses_requests_to_other_hosts(open_viewer: OpenViewer) -> None:
    viewer = open_viewer()
    outcome = viewer.page.evaluate(
        "() => fetch('http://192.0.2.1/tile.png').then(() => 'fetched', e => e.name)"
    )
    assert outcome == "TypeError"
    refusals = [text for text in viewer.watch.errors if "Content Security Policy" in text]
    assert refusals, viewer.watch.errors
    assert viewer.watch.foreign == []  # refused by the browser before it was even sent


def test_toggling_a_layer_changes_the_pixels(open_viewer: OpenViewer) -> None:
    viewer = open_viewer()
    before = viewer.map_pixels()
    checkbox = viewer.page.locator('[data-layer-id="synthetic-landuse"] input[type=checkbox]')
    viewer.act_and_render(checkbox.check)
    with_landuse = viewer.map_pixels("landuse-on")
    assert changed_share(before, with_landuse) > 0.002
    assert "synthetic-landuse" in viewer.state()["l"].split(",")
    counties = viewer.page.locator('[data-layer-id="gd-counties"] input[type=checkbox]')
    counties.focus()
    viewer.act_and_render(lambda: viewer.page.keyboard.press("Space"))  # by keyboard
    assert not counties.is_checked()
    assert changed_share(with_landuse, viewer.map_pixels("counties-off")) > 0.05
    assert "gd-counties" not in viewer.state()["l"].split(",")
    viewer.assert_clean()


def test_clicking_a_county_shows_its_name_and_code(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer = open_viewer(fragment=view(inside(viewer_server, "gd-counties", **TIANHE), 11))
    text = viewer.click_map_centre()
    assert "天河区" in text and "440106" in text, text
    link = viewer.page.locator("#popup a")
    assert "/collections/gd-counties/items/" in (link.get_attribute("href") or "")
    save_screenshot(viewer.page, "county-popup")
    viewer.page.keyboard.press("Escape")
    assert viewer.page.locator("#popup").is_hidden()
    viewer.assert_clean()


def test_switching_the_grid_keeps_the_view(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    centre = inside(viewer_server, "gd-counties", **TIANHE)
    viewer = open_viewer(fragment=view(centre, 11))
    before = viewer.state()
    viewer.act_and_render(viewer.page.locator("#grid").click)
    after = viewer.state()
    assert after["g"] == "CGCS2000Quad"
    assert viewer.page.locator("#grid").get_attribute("aria-pressed") == "true"
    assert [round(float(n), 4) for n in after["c"].split(",")] == [
        round(float(n), 4) for n in before["c"].split(",")
    ]
    # CGCS2000Quad's level n has the cell size of WebMercatorQuad's level n + 1
    assert float(after["z"]) == float(before["z"]) - 1
    assert viewer.watch.queries("/map/tiles/CGCS2000Quad/")
    save_screenshot(viewer.page, "cgcs2000-grid")
    assert "天河区" in viewer.click_map_centre()
    viewer.assert_clean()


def test_the_view_is_restored_from_the_url(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    centre = inside(viewer_server, "gd-counties", adcode="440304")  # 福田区
    layers = "gd-counties,synthetic-station-readings"
    instant = "2025-06-10T00:00:00Z"
    fragment = view(centre, 9, layers, g="CGCS2000Quad", t=instant, lang="en")
    viewer = open_viewer(fragment=fragment)
    state = viewer.state()
    assert state["g"] == "CGCS2000Quad" and state["z"] == "9" and state["lang"] == "en"
    assert state["l"] == layers and state["t"] == instant
    assert [float(n) for n in state["c"].split(",")] == [round(n, 5) for n in centre]
    tree = viewer.page.locator("#layer-tree")
    assert tree.locator('[data-layer-id="gd-counties"] input[type=checkbox]').is_checked()
    assert not tree.locator('[data-layer-id="gd-cities"] input[type=checkbox]').is_checked()
    assert viewer.page.locator("#time").is_visible()
    assert "10/06/2025, 08:00" in viewer.page.locator("#time-value").inner_text()  # CST
    readings = viewer.watch.queries("/collections/synthetic-station-readings/items")
    assert readings and all(q["datetime"] == [instant] for q in readings), json.dumps(readings)
    assert viewer.page.locator("html").get_attribute("lang") == "en"
    viewer.assert_clean()


def test_a_dem_is_part_of_the_base_under_the_boundaries(
    open_viewer: OpenViewer, viewer_server: LiveServer, sample_url: str, tmp_path: Path
) -> None:
    publish_dem(sample_url, "viewer-dem", tmp_path)
    with httpx.Client(base_url=viewer_server.url) as client:
        wait_for_layer(client, "viewer-dem")
    viewer = open_viewer()
    base = viewer.page.locator("#layer-tree section").first
    dem = base.locator('[data-layer-id="viewer-dem"] input[type=checkbox]')
    assert dem.is_checked(), "a raster layer is on in the base at first"
    drawn = viewer.state()["l"].split(",")  # other tests' rasters may share the base
    assert drawn.index("viewer-dem") < drawn.index("gd-province"), "under the boundaries"
    assert viewer.watch.queries("/collections/viewer-dem/map/tiles/WebMercatorQuad/")
    boundaries = {"gd-province", "gd-cities", "gd-counties"}
    for other in drawn:  # another raster drawn over this one (gd-dem, other tests') would hide it
        if other != "viewer-dem" and other not in boundaries:
            box = base.locator(f'[data-layer-id="{other}"] input[type=checkbox]')
            if box.count() and box.is_checked():
                viewer.act_and_render(box.uncheck)
    with_dem = viewer.map_pixels("dem-on")
    viewer.act_and_render(dem.uncheck)
    assert changed_share(with_dem, viewer.map_pixels()) > 0.05
    viewer.assert_clean()
