"""The identify popup of an editable layer says who changed the feature last and when,
from its version history (ADR 0013, decision 11); other layers' popups do not ask."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PUBLISHER
from tests.helpers.live import LiveServer
from tests.viewer.browser import RENDER_TIMEOUT_MS, save_screenshot
from tests.viewer.conftest import OpenViewer
from tests.viewer.places import inside, view

COUNTIES = "gd-counties"


@pytest.fixture
def editable_counties(viewer_server: LiveServer) -> Iterator[None]:
    """The counties open for editing for one test (closed again after it)."""
    with httpx.Client(base_url=viewer_server.url, headers=PUBLISHER) as client:
        opened = client.put(f"/collections/{COUNTIES}/editing", json={"editable": True})
        assert opened.status_code == 200, opened.text
        try:
            yield
        finally:
            client.put(f"/collections/{COUNTIES}/editing", json={"editable": False})


def test_an_editable_layers_popup_shows_the_last_change(
    open_viewer: OpenViewer, viewer_server: LiveServer, editable_counties: None
) -> None:
    viewer = open_viewer(fragment=view(inside(viewer_server, COUNTIES, adcode="440106"), 11))
    viewer.click_map_centre()
    line = viewer.page.locator("#popup .last-change[data-version]")
    line.wait_for(timeout=RENDER_TIMEOUT_MS)
    text = line.inner_text()
    assert text.startswith("最后修改："), text
    with httpx.Client(base_url=viewer_server.url) as client:
        fid = viewer.page.locator("#popup a").get_attribute("href") or ""
        path = fid.split("?")[0].split(viewer_server.url)[-1]
        newest = client.get(f"{path}/versions", params={"limit": 1}).json()["features"][0]
    assert line.get_attribute("data-version") == str(newest["revision"]["version"])
    assert newest["revision"]["actor"]["subject"] in text
    save_screenshot(viewer.page, "editable-popup")
    viewer.assert_clean()


def test_other_layers_popups_do_not_ask_for_history(
    open_viewer: OpenViewer, viewer_server: LiveServer
) -> None:
    viewer = open_viewer(fragment=view(inside(viewer_server, COUNTIES, adcode="440106"), 11))
    viewer.click_map_centre()
    assert viewer.page.locator("#popup .last-change").count() == 0
    assert not any("/versions" in url for url in viewer.watch.requests)
