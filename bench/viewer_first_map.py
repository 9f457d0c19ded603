"""How soon the viewer draws its first map: navigation to OpenLayers' first complete render,
as the page itself records it (``data-first-map-ms``), in fresh browser contexts with no
request interception, and how many requests and bytes that took.

    make serve &    # or any running OneMap with the sample data
    .venv/bin/python bench/viewer_first_map.py http://127.0.0.1:8000 --loads 5

Debian's chromium, driven by Playwright (its own browser download does not work here).
"""

from __future__ import annotations

import argparse
import json
import statistics

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
VIEWPORT = {"width": 1280, "height": 800}


def one_load(browser: Browser, url: str) -> dict[str, int]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        page = context.new_page()
        sizes: list[int] = []
        page.on("requestfinished", lambda request: sizes.append(_size(request)))
        page.goto(f"{url}/viewer")
        marker = page.locator("#onemap-viewer")
        marker.wait_for(state="attached")
        page.wait_for_function(
            "() => document.getElementById('onemap-viewer').dataset.firstMapMs", timeout=60_000
        )
        first = int(marker.get_attribute("data-first-map-ms") or 0)
        requests = page.evaluate("() => performance.getEntriesByType('resource').length + 1")
        return {"first_map_ms": first, "requests": requests, "bytes": sum(sizes)}
    finally:
        context.close()


def _size(request: object) -> int:
    sizes = request.sizes()  # type: ignore[attr-defined]
    return int(sizes["responseBodySize"] + sizes["responseHeadersSize"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            one_load(browser, args.url)  # the server's and the browser's first-use costs
            loads = [one_load(browser, args.url) for _ in range(args.loads)]
        finally:
            browser.close()
    times = [load["first_map_ms"] for load in loads]
    report = {
        "loads": loads,
        "first_map_ms_median": statistics.median(times),
        "first_map_ms_best": min(times),
        "first_map_ms_worst": max(times),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
