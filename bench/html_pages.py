"""Every HTML page of the sample data against a running OneMap, timed (issue 11's budget:
300 ms for the fastest of five requests after a warm-up).

    .venv/bin/python bench/html_pages.py http://127.0.0.1:8000     # e.g. under `make serve`
"""

from __future__ import annotations

import argparse
import time

import httpx

from ingest.sample import SAMPLE_LAYERS, SYNTHETIC_LAYERS

BUDGET_MS = 300


def pages(client: httpx.Client) -> list[tuple[str, dict[str, str]]]:
    """Service pages, then per layer its description, queryables, items at the default and
    at the largest limit, and its first feature (tests/features/test_html.py asks the same)."""
    found: list[tuple[str, dict[str, str]]] = [
        ("/", {}), ("/conformance", {}), ("/collections", {}), ("/api.html", {}),
    ]  # fmt: skip
    largest = client.get("/api").json()["components"]["parameters"]["limit"]["schema"]["maximum"]
    for layer_id in [row[1] for row in SAMPLE_LAYERS + SYNTHETIC_LAYERS]:
        base = f"/collections/{layer_id}"
        first = client.get(f"{base}/items", params={"limit": "1"}).json()["features"][0]["id"]
        found += [(base, {}), (f"{base}/queryables", {}), (f"{base}/items", {})]
        found += [(f"{base}/items", {"limit": str(largest)}), (f"{base}/items/{first}", {})]
    return found


def best_ms(client: httpx.Client, path: str, params: dict[str, str]) -> float:
    timings = []
    for attempt in range(6):
        started = time.perf_counter()
        response = client.get(path, params={"f": "html", **params})
        if attempt:  # the first request warms plans and caches
            timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="a running OneMap with the sample data")
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, timeout=60) as client:
        rows = [(f"{p}?{httpx.QueryParams(q)}", best_ms(client, p, q)) for p, q in pages(client)]
    print("| page (f=html) | best of 5, ms |\n|---|---:|")
    for page, ms in sorted(rows, key=lambda row: -row[1]):
        print(f"| {page.rstrip('?')} | {ms:.0f}{' (over budget)' if ms > BUDGET_MS else ''} |")


if __name__ == "__main__":
    main()
