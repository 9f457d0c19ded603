"""Which gzip level: bytes and compression time at levels 1–9, and time to last byte.

    .venv/bin/python bench/features_data.py $URL        # once: bench-points, bench-polygons
    flock /tmp/onemap-bench.lock .venv/bin/python -m bench.gzip_levels $URL [--chosen 5]

(a) Responses as the server produces them: a live OneMap (``ogc.server.serve.serve_http``, one
worker) answers each workload of the features benchmark with ``Accept-Encoding: identity``,
plus the 100-county page of the issue and the HTML items page of the cities; each body
is then gzipped in this process at every level (CPU time, the least of --repeat runs).
(b) MVT tiles: the tile benchmark's URL sample (z6–14 around random features of both
bench layers), fetched decompressed and gzipped the same way. (c) With --chosen: time to
last byte of the county page over HTTP at that level, at 9 and uncompressed, a fresh
server per level; the transfer time of its bytes at 50 and 10 Mbit/s is added beside.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx
import psycopg

from bench.features_bench import workloads
from bench.features_peers import Server, start_onemap
from bench.tiles_bench import sample_tiles

PORT = 18231
LEVELS = range(1, 10)
COUNTY_PAGE = "/collections/gd-counties/items?limit=100"
PAGES = {
    "100 county polygons (gd-counties)": COUNTY_PAGE,
    "HTML items page (gd-cities)": "/collections/gd-cities/items?f=html",
}
FEATURE_WORKLOADS = ("first page (limit=100)", "1,000 polygons in city bbox", "single feature")
TILE_LAYERS = ("bench-points", "bench-polygons")
IDENTITY = {"Accept-Encoding": "identity"}


@dataclass
class Row:
    name: str
    raw_bytes: int
    by_level: dict[int, tuple[int, float]]  # level -> (gzipped bytes, compress ms)


def compress_ms(body: bytes, level: int, repeat: int) -> tuple[int, float]:
    """Gzipped size and the CPU time of compressing (this thread's, so a busy machine's
    other processes do not count; the least of ``repeat`` runs)."""
    timings, size = [], 0
    for _ in range(repeat):
        started = time.thread_time()
        size = len(gzip.compress(body, compresslevel=level, mtime=0))
        timings.append((time.thread_time() - started) * 1000)
    return size, min(timings)


def measure(name: str, bodies: list[bytes], repeat: int) -> Row:
    by_level = {}
    for level in LEVELS:
        sizes, times = zip(*(compress_ms(b, level, repeat) for b in bodies), strict=True)
        by_level[level] = (sum(sizes), sum(times))
    return Row(name, sum(len(b) for b in bodies), by_level)


def page_paths(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        known = [w for w in workloads(conn) if w.name in FEATURE_WORKLOADS]
    paths = dict(PAGES)
    for work in known:
        path = f"/collections/{work.collection}/items"
        if work.feature_id is not None:
            path += f"/{work.feature_id}"
        query = urlencode(work.onemap, quote_via=quote)
        paths[f"{work.name} ({work.collection})"] = path + (f"?{query}" if query else "")
    return paths


def tile_bodies(server: Server, url: str, count: int) -> list[bytes]:
    bodies = []
    with httpx.Client(base_url=server.base, headers=IDENTITY, timeout=120) as client:
        for layer_id in TILE_LAYERS:
            for z, row, col in sample_tiles(url, layer_id, count):
                path = f"/collections/{layer_id}/tiles/WebMercatorQuad/{z}/{row}/{col}"
                response = client.get(path)
                if response.status_code == 200:
                    bodies.append(response.content)
    return bodies


def time_to_last_byte(base: str, path: str, encoding: str, requests: int) -> tuple[float, int]:
    """Median ms from sending the request to its last body byte, and bytes on the wire."""
    timings, size = [], 0
    with httpx.Client(base_url=base, headers={"Accept-Encoding": encoding}, timeout=120) as c:
        for i in range(requests + 2):
            started = time.perf_counter()
            with c.stream("GET", path) as response:
                size = sum(len(chunk) for chunk in response.iter_raw())
            if i >= 2:  # two warm-up requests
                timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), size


def print_rows(rows: list[Row]) -> None:
    print("| response | raw bytes | " + " | ".join(f"level {n}" for n in LEVELS) + " |")
    print("|---|---:|" + "---:|" * len(LEVELS))
    for row in rows:
        cells = [f"{size:,} / {ms:.1f} ms" for size, ms in row.by_level.values()]
        print(f"| {row.name} | {row.raw_bytes:,} | " + " | ".join(cells) + " |")


def ttlb_table(url: str, chosen: int, requests: int) -> None:
    print("\n| county page | bytes | TTLB loopback ms | + 50 Mbit/s | + 10 Mbit/s |")
    print("|---|---:|---:|---:|---:|")
    for label, level, encoding in (
        (f"gzip level {chosen}", chosen, "gzip"),
        ("gzip level 9", 9, "gzip"),
        ("no compression", chosen, "identity"),
    ):
        os.environ["ONEMAP_GZIP_LEVEL"] = str(level)  # start_onemap passes the environment on
        server = start_onemap(url, PORT, 1)
        try:
            ms, size = time_to_last_byte(server.base, COUNTY_PAGE, encoding, requests)
        finally:
            server.stop()
        wire = [size * 8 / (mbit * 1000) for mbit in (50, 10)]  # ms
        print(f"| {label} | {size:,} | {ms:.0f} | {ms + wire[0]:.0f} | {ms + wire[1]:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="database with the sample and bench layers")
    parser.add_argument("--tiles", type=int, default=100, help="tiles sampled per bench layer")
    parser.add_argument("--repeat", type=int, default=5, help="compressions per body and level")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per level")
    parser.add_argument("--chosen", type=int, default=None, help="level compared with 9")
    args = parser.parse_args()
    server = start_onemap(args.url, PORT, 1)
    try:
        rows = []
        with httpx.Client(base_url=server.base, headers=IDENTITY, timeout=120) as client:
            for name, path in page_paths(args.url).items():
                response = client.get(path)
                response.raise_for_status()
                rows.append(measure(name, [response.content], args.repeat))
        tiles = tile_bodies(server, args.url, args.tiles)
        rows.append(measure(f"{len(tiles)} MVT tiles (z6–14, summed)", tiles, args.repeat))
    finally:
        server.stop()
    print_rows(rows)
    if args.chosen is not None:
        ttlb_table(args.url, args.chosen, args.requests)


if __name__ == "__main__":
    main()
