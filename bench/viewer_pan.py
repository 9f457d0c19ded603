"""Whether panning the viewer stays fluid: frame intervals (requestAnimationFrame) while the
mouse drags the map across the sample layers, in Debian's headless chromium (software
rendering, no GPU: a phone's GPU does better), after the first map is drawn.

    make serve &    # or any running OneMap with the sample data
    .venv/bin/python bench/viewer_pan.py http://127.0.0.1:8000 --drags 4
"""

from __future__ import annotations

import argparse
import json
import statistics

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
RECORD_FRAMES = """() => { window.__frames = []; let last = performance.now();
  const tick = (now) => { window.__frames.push(now - last); last = now;
    if (window.__recording) requestAnimationFrame(tick); };
  window.__recording = true; requestAnimationFrame(tick); }"""


def drag(page: Page, dx: int, dy: int, steps: int = 60) -> list[float]:
    box = page.locator("#map").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(RECORD_FRAMES)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, steps + 1):  # ~16 ms apart: a hand moving the map at 60 Hz
        page.mouse.move(x + dx * step / steps, y + dy * step / steps)
        page.wait_for_timeout(16)
    page.mouse.up()
    page.evaluate("() => { window.__recording = false; }")
    frames: list[float] = page.evaluate("() => window.__frames.slice(1)")
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--drags", type=int, default=4)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{args.url}/viewer#z=9&c=113.3,23.1")
        page.wait_for_function(
            "() => document.getElementById('onemap-viewer').dataset.firstMapMs", timeout=60_000
        )
        frames: list[float] = []
        for n in range(args.drags):
            sign = 1 if n % 2 == 0 else -1
            frames += drag(page, 400 * sign, 150 * sign)
        browser.close()
    ordered = sorted(frames)
    report = {
        "frames": len(frames),
        "frame_ms_p50": round(statistics.median(frames), 1),
        "frame_ms_p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "frame_ms_max": round(ordered[-1], 1),
        "frames_over_50_ms": sum(1 for f in frames if f > 50),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
