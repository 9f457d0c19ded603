"""A viewer page in the system chromium, watched: console errors, page errors and every
request — a request to any host but the OneMap server under test is refused and kept.

``ViewerPage`` reads what a person sees: the map's pixels (a PNG screenshot, decoded),
the state in the URL, the popup's text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image
from playwright.sync_api import Page, Route

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # git-ignored
CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright's own browser download fails here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
RENDER_TIMEOUT_MS = 45_000  # a first render waits for every tile; CI machines are busy
MAP_BACKGROUND = (0xEE, 0xF2, 0xF5)  # .map's background (viewer/src/style.css)


@dataclass
class Watch:
    """What the browser did besides drawing: errors, refused requests, requests made.

    ``also`` names the origins allowed besides the server's: only the sign-in tests' identity
    provider (a second loopback origin, as the intranet's provider is in production)."""

    origin: str
    also: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # (url, its Authorization header or None) of every request let through
    authorizations: list[tuple[str, str | None]] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("data", "blob") or origin == self.origin or origin in self.also:
            self.requests.append(url)
            self.authorizations.append((url, route.request.headers.get("authorization")))
            route.continue_()
            return
        self.foreign.append(url)
        route.abort()

    def console(self, kind: str, text: str) -> None:
        if kind == "error":
            self.errors.append(text)

    def queries(self, path_part: str) -> list[dict[str, list[str]]]:
        """The query of each request whose path contains ``path_part``."""
        return [parse_qs(urlsplit(u).query) for u in self.requests if path_part in urlsplit(u).path]


class ViewerPage:
    def __init__(self, page: Page, watch: Watch) -> None:
        self.page, self.watch = page, watch

    # --- waiting ------------------------------------------------------------------------
    def renders(self) -> int:
        value = self.page.locator("#onemap-viewer").get_attribute("data-renders")
        return int(value or 0)

    def wait_rendered(self, after: int = 0) -> None:
        """Until the map has finished a render (all tiles loaded) after ``after`` renders."""
        self.page.wait_for_function(
            "n => Number(document.getElementById('onemap-viewer').dataset.renders || 0) > n",
            arg=after,
            timeout=RENDER_TIMEOUT_MS,
        )

    def wait_loaded(self) -> None:
        """Until the page's first map is drawn and every legend is in."""
        self.wait_rendered()
        self.page.locator("#onemap-viewer[data-legends=loaded]").wait_for(state="attached")

    def act_and_render(self, action: object) -> None:
        """Do ``action`` (a callable) and wait for the render it causes."""
        before = self.renders()
        action()  # type: ignore[operator]
        self.wait_rendered(before)

    def act_and_move(self, action: object) -> None:
        """Do ``action`` (a callable) and wait until the view in the URL has changed."""
        before = urlsplit(self.page.url).fragment
        action()  # type: ignore[operator]
        self.page.wait_for_function(
            "before => location.hash.slice(1) !== before", arg=before, timeout=RENDER_TIMEOUT_MS
        )

    # --- what is seen -------------------------------------------------------------------
    def map_pixels(self, name: str | None = None) -> np.ndarray:
        png = self.page.locator("#map .ol-layers").screenshot()  # the layers, not the controls
        if name:
            save_screenshot(self.page, name)
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)

    def state(self) -> dict[str, str]:
        fragment = urlsplit(self.page.url).fragment
        return {k: v[0] for k, v in parse_qs(fragment, keep_blank_values=True).items()}

    def click_map_centre(self) -> str:
        """Click the middle of the map; the text of the popup that click opens."""
        popup = self.page.locator("#popup")
        shown = int(popup.get_attribute("data-shown") or 0)
        box = self.page.locator("#map").bounding_box()
        assert box is not None
        self.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.wait_for_function(
            "n => Number(document.getElementById('popup').dataset.shown || 0) > n",
            arg=shown,
            timeout=RENDER_TIMEOUT_MS,
        )
        return popup.inner_text()

    def assert_clean(self) -> None:
        assert self.watch.errors == [], f"console errors: {self.watch.errors}"
        assert self.watch.foreign == [], f"requests to other hosts: {self.watch.foreign}"


def save_screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def changed_share(before: np.ndarray, after: np.ndarray, threshold: int = 24) -> float:
    """The share of pixels whose colour moved by more than ``threshold`` (of 255) in a channel."""
    assert before.shape == after.shape, (before.shape, after.shape)
    return float((np.abs(before - after).max(axis=2) > threshold).mean())


def drawn_share(pixels: np.ndarray) -> float:
    """The share of pixels that are not the map's empty background."""
    return float((np.abs(pixels - np.array(MAP_BACKGROUND)).max(axis=2) > 8).mean())
