"""The viewer against a running OneMap with the sample data, in the system chromium.

One server and one browser for the module; each test opens its own browser context
(fresh storage, its own request watch) through ``open_viewer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, sync_playwright

from layers.settings import ServiceSettings
from tests.helpers.live import LiveServer, live_server
from tests.viewer.browser import CHROMIUM, CHROMIUM_ARGS, ViewerPage, Watch

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

OpenViewer = Callable[..., ViewerPage]


@pytest.fixture(scope="session")
def viewer_server(settings: ServiceSettings) -> Iterator[LiveServer]:
    from ogc.app import create_app

    with live_server(create_app(settings)) as server:
        yield server


# Package scope: Playwright's sync API holds an event loop in this thread while it runs;
# tests after these (asyncio.run in the main thread) must not meet it.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(
                f"cannot start {CHROMIUM} ({exc.message.splitlines()[0]}): install Debian's "
                "chromium (make system-deps)",
                pytrace=False,
            )
        yield launched
        launched.close()


@pytest.fixture
def open_viewer(browser: Browser, viewer_server: LiveServer) -> Iterator[OpenViewer]:
    """``open_viewer(query="", fragment="", viewport=DESKTOP, **context options)``: the
    viewer loaded and its first map drawn."""
    with viewer_opener(browser, viewer_server.url) as open_page:
        yield open_page


@contextmanager
def viewer_opener(
    browser: Browser, server: str, also: tuple[str, ...] = ()
) -> Iterator[OpenViewer]:
    """``open_viewer`` for the server at ``server``; ``also``: other origins the page may
    reach (``Watch``). Each page's browser context is closed on the way out."""
    contexts: list[BrowserContext] = []

    def open_page(
        query: str = "", fragment: str = "", viewport: dict[str, int] = DESKTOP, **options: Any
    ) -> ViewerPage:
        context = browser.new_context(viewport=viewport, locale="zh-CN", **options)  # type: ignore[arg-type]
        contexts.append(context)
        watch = Watch(origin=server, also=also)
        context.route("**/*", watch.route)
        page = context.new_page()
        page.on("console", lambda message: watch.console(message.type, message.text))
        page.on("pageerror", lambda error: watch.errors.append(f"page error: {error}"))
        page.goto(f"{server}/viewer{query}{fragment}")
        viewer = ViewerPage(page, watch)
        viewer.wait_loaded()
        return viewer

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()
