"""Every HTML page OneMap serves satisfies its own Content-Security-Policy in Chromium: the
viewer, the HTML pages of collections and items, the API's Swagger UI — zero violations
(``securitypolicyviolation`` events, recorded from before the page's first script), and the
page really drew. A request the policy forbids is recorded, so the watch can fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.helpers.live import LiveServer
from tests.viewer.browser import ViewerPage, Watch

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""
PAGES = {  # path → a selector that shows the page drew
    "/?f=html": "main h1",
    "/collections?f=html": "main a",
    "/collections/gd-counties?f=html": "main h1",
    "/collections/gd-counties/items?f=html&limit=20": "svg.map path",
    "/api.html": ".swagger-ui .info .title",
}


@pytest.fixture
def page(browser: Browser, viewer_server: LiveServer) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context()
    watch = Watch(origin=viewer_server.url)
    context.route("**/*", watch.route)
    context.add_init_script(RECORD_VIOLATIONS)
    opened = context.new_page()
    opened.on("console", lambda message: watch.console(message.type, message.text))
    try:
        yield opened, watch
    finally:
        context.close()


def _violations(page: Page) -> list[str]:
    found: list[Any] = page.evaluate("() => window.__violations")
    return [str(v) for v in found]


def test_the_viewer_loads_and_draws_with_zero_policy_violations(
    page: tuple[Page, Watch], viewer_server: LiveServer
) -> None:
    opened, watch = page
    response = opened.goto(f"{viewer_server.url}/viewer")
    assert (
        response is not None
        and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    )
    viewer = ViewerPage(opened, watch)
    viewer.wait_loaded()  # the first map drawn: every tile, style and legend fetched
    viewer.act_and_render(
        opened.locator('[data-layer-id="synthetic-landuse"] input[type=checkbox]').check
    )
    assert _violations(opened) == [], _violations(opened)
    viewer.assert_clean()


@pytest.mark.parametrize("path", PAGES)
def test_every_html_page_satisfies_its_policy(
    page: tuple[Page, Watch], viewer_server: LiveServer, path: str
) -> None:
    opened, watch = page
    response = opened.goto(viewer_server.url + path)
    assert response is not None and response.status == 200
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    opened.wait_for_selector(PAGES[path], timeout=30_000)
    opened.wait_for_load_state("networkidle")
    assert _violations(opened) == [], _violations(opened)
    assert [e for e in watch.errors if "Content Security Policy" in e] == []


def test_the_watch_sees_a_violation(page: tuple[Page, Watch], viewer_server: LiveServer) -> None:
    opened, _ = page
    opened.goto(viewer_server.url + "/collections?f=html")
    # another loopback origin: the policy refuses it before any request leaves the browser
    opened.evaluate("() => { const i = new Image(); i.src = 'http://127.0.0.2:9/x.png'; }")
    opened.wait_for_function("() => window.__violations.length > 0", timeout=10_000)
    assert any("img-src" in v for v in _violations(opened)), _violations(opened)
