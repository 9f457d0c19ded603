"""Long load test: a mixed workload through nginx to two OneMap replicas (issue 16, "Done when").

    flock /tmp/onemap-bench.lock .venv/bin/python bench/load_test.py [URL] [--minutes 10] \
        [--read-url URL | --standby] [--workdir /tmp/onemap-load]

URL: a database with the sample layers; without it an embedded cluster in --workdir gets
them (kept between runs). Two `onemap serve` replicas (one worker each) share one database
and one tile cache directory (emptied at start) behind nginx running docker/nginx/nginx.conf
on loopback (tests/helpers/balanced.py starts the same set for the scale-out tests);
--read-url is passed to the replicas as ONEMAP_READ_DATABASE_URL (a streaming standby);
--standby makes one of the embedded cluster (pg_basebackup, tests/helpers/standby.py, as the
read-replica tests do) and passes its URL so.

The workload, by weight: cached vector tiles, uncached ones (each asked once), WMTS map
tiles (REST, PNG) and capabilities, items pages, single features, searches and synchronous
runs of nearest-facilities. First a short ramp (closed loop, 4 → 32 clients, 5 s each)
finds the peak rate; then requests are sent at --share (0.75) of it for --minutes, open
loop (latency from each request's planned start, so a stall is not hidden), and reported
per minute: rate, p50/p99, errors (anything but 200/204, or no answer), and each replica's
resident memory (its process tree), with its growth over the run (from the ramp's end).
Everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.overload import database  # noqa: E402
from layers.embedded import EmbeddedCluster  # noqa: E402
from tests.helpers.balanced import Balanced, Process, balanced  # noqa: E402
from tests.helpers.standby import Standby, enable_streaming  # noqa: E402
from tests.tiles.helpers import tile_at  # noqa: E402

TMS = "WebMercatorQuad"
RAMP = (4, 8, 16, 32)  # closed-loop clients per ramp step
RAMP_STEP_S = 5.0
MAX_IN_FLIGHT = 64  # open loop: beyond this many outstanding requests the client is the limit
SEARCHES = ("广州", "天河", "深圳", "4401", "佛山", "440106", "珠海", "越秀")
OK = {200, 204}  # 204: a vector tile with nothing in it


@dataclass(frozen=True)
class Call:
    kind: str
    path: str
    body: dict[str, Any] | None = None  # a POST's JSON


@dataclass
class Workload:
    """Endless, weighted requests; the paths come from the data (ids, tiles over Guangdong)."""

    feature_ids: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(16))
    counter: Iterator[int] = field(default_factory=itertools.count)
    fresh_tiles: Iterator[str] = field(init=False)

    def __post_init__(self) -> None:
        self.fresh_tiles = uncached_tiles()

    def calls(self) -> list[tuple[int, Callable[[int], Call]]]:
        return [
            (30, lambda n: Call("tile cached", CACHED[n % len(CACHED)])),
            (8, lambda n: Call("tile uncached", next(self.fresh_tiles))),
            (12, lambda n: Call("wmts png", WMTS_TILES[n % len(WMTS_TILES)])),
            (1, lambda n: Call("wmts capabilities", "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities")),
            (
                15,
                lambda n: Call(
                    "items", f"/collections/gd-counties/items?limit=20&offset={n % 100}"
                ),
            ),
            (12, lambda n: Call("feature", self.feature(n))),
            (10, lambda n: Call("search", f"/search?q={SEARCHES[n % len(SEARCHES)]}")),
            (2, lambda n: Call("process", "/processes/nearest-facilities/execution", self.near(n))),
        ]

    def feature(self, n: int) -> str:
        return f"/collections/gd-counties/items/{self.feature_ids[n % len(self.feature_ids)]}"

    def near(self, n: int) -> dict[str, Any]:
        lon, lat = 113.0 + (n % 50) * 0.02, 22.6 + (n % 30) * 0.03
        facilities = {"collection": "synthetic-facilities"}
        return {"inputs": {"location": [lon, lat], "k": 3, "facilities": facilities}}

    def __iter__(self) -> Iterator[Call]:
        weights, makers = zip(*self.calls(), strict=True)
        while True:
            maker = self.rng.choices(makers, weights)[0]
            yield maker(next(self.counter))


def _tiles(layer: str, z: int, west: float, south: float, east: float, north: float) -> list[str]:
    top, left = tile_at(TMS, z, west, north)
    bottom, right = tile_at(TMS, z, east, south)
    return [
        f"/collections/{layer}/tiles/{TMS}/{z}/{row}/{col}"
        for row in range(top, bottom + 1)
        for col in range(left, right + 1)
    ]


GUANGDONG = (109.6, 20.2, 117.3, 25.5)
DELTA = (112.8, 22.3, 114.3, 23.4)  # the Pearl River delta
CACHED = [  # made once before the ramp
    *_tiles("gd-cities", 7, *GUANGDONG),
    *_tiles("gd-cities", 8, *GUANGDONG),
    *_tiles("gd-counties", 9, *DELTA),
]
WMTS_TILES = [
    path.replace("/collections/gd-cities/tiles/", "/wmts/1.0.0/gd-cities/default/") + ".png"
    for z in (8, 9)
    for path in _tiles("gd-cities", z, *GUANGDONG)
]


def uncached_tiles() -> Iterator[str]:
    """Tiles over the Pearl River delta, each once: levels 14, 15 and 16 (≈ 80,000 in all)."""
    for z in (14, 15, 16):
        yield from _tiles("gd-counties", z, *DELTA)
    raise RuntimeError("ran out of uncached tiles: shorten --minutes")


Seen = list[tuple[str, int, float, float]]  # kind, status (0 = no answer), ms, planned start


async def send(client: httpx.AsyncClient, call: Call, began: float, seen: Seen) -> None:
    try:
        if call.body is None:
            status = (await client.get(call.path)).status_code
        else:
            status = (await client.post(call.path, json=call.body)).status_code
    except httpx.HTTPError:
        status = 0
    seen.append((call.kind, status, (time.monotonic() - began) * 1000, began))


async def closed_loop(base: str, calls: Iterator[Call], clients: int, seconds: float) -> Seen:
    seen: Seen = []
    until = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one() -> None:
            while time.monotonic() < until:
                await send(client, next(calls), time.monotonic(), seen)

        await asyncio.gather(*(one() for _ in range(clients)))
    return seen


async def open_loop(
    base: str, calls: Iterator[Call], rate: float, seconds: float, every_minute: Callable[[], None]
) -> Seen:
    """One request every 1/rate s, whatever the answers do; latency from the planned start.
    ``every_minute`` runs at each minute's end (the memory samples)."""
    seen: Seen = []
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        start, tasks = time.monotonic(), set()
        next_sample = start + 60
        for n in itertools.count():
            planned = start + n / rate
            if planned - start >= seconds:
                break
            if planned >= next_sample:
                every_minute()
                next_sample += 60
            await asyncio.sleep(max(0.0, planned - time.monotonic()))
            task = asyncio.create_task(send(client, next(calls), planned, seen))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        every_minute()
    return seen


def rss_mb(replica: Process) -> float:
    """Resident memory of a replica's process tree (uvicorn and any worker children)."""
    try:
        root = psutil.Process(replica.proc.pid)
        tree = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in tree) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def find_peak(base: str, calls: Iterator[Call]) -> float:
    best = 0.0
    for clients in RAMP:
        seen = asyncio.run(closed_loop(base, calls, clients, RAMP_STEP_S))
        rate = len(seen) / RAMP_STEP_S
        errors = sum(1 for s in seen if s[1] not in OK)
        p99 = np.percentile([s[2] for s in seen], 99)
        print(f"ramp {clients:3d} clients: {rate:7.1f} req/s  p99 {p99:7.1f} ms  errors {errors}")
        if errors or rate < best * 1.05:
            best = max(best, rate)
            break  # saturated: more clients only queue
        best = rate
    return best


def sustain(cluster: Balanced, calls: Iterator[Call], rate: float, minutes: int) -> None:
    memory: list[list[float]] = []  # per replica: after the ramp, then at each minute's end
    cpu = time.process_time()

    def sample() -> None:
        memory.append([rss_mb(r) for r in cluster.replicas])

    sample()
    began = time.monotonic()
    seen = asyncio.run(open_loop(cluster.nginx.url, calls, rate, minutes * 60.0, sample))
    client_cpu = 100 * (time.process_time() - cpu) / (time.monotonic() - began)
    print(f"\nsustained at {rate:.1f} req/s for {minutes} min (client CPU {client_cpu:.0f} %)")
    names = " | ".join(f"RSS {n + 1} MB" for n in range(len(cluster.replicas)))
    print(f"min |  req/s |  p50 ms |  p99 ms | errors | {names}")
    start = min(s[3] for s in seen)
    minute_of = [int((s[3] - start) // 60) for s in seen]
    for minute in range(minutes):
        these = [s for s, m in zip(seen, minute_of, strict=True) if m == minute]
        times = [s[2] for s in these]
        errors = sum(1 for s in these if s[1] not in OK)
        rss = " | ".join(f"{m:10.0f}" for m in memory[min(minute + 1, len(memory) - 1)])
        print(
            f"{minute + 1:3d} | {len(these) / 60:6.1f} | {np.percentile(times, 50):7.1f} | "
            f"{np.percentile(times, 99):7.1f} | {errors:6d} | {rss}"
        )
    growth = [
        100 * (last - first) / first for first, last in zip(memory[0], memory[-1], strict=True)
    ]
    print(
        "memory growth over the run (from the end of the ramp): "
        + ", ".join(f"{g:+.1f} %" for g in growth)
    )
    by_kind(seen)


def by_kind(seen: Seen) -> None:
    kinds: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    for kind, status, ms, _ in seen:
        kinds[kind].append(ms)
        statuses[kind][status] += 1
    print("\nkind               |  count |  p50 ms |  p99 ms | statuses")
    for kind in sorted(kinds):
        times = kinds[kind]
        print(
            f"{kind:18s} | {len(times):6d} | {np.percentile(times, 50):7.1f} | "
            f"{np.percentile(times, 99):7.1f} | {dict(sorted(statuses[kind].items()))}"
        )


def warm(base: str) -> list[str]:
    """Make the cached tiles (vector and WMTS) once; return some features' ids."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for path in CACHED + WMTS_TILES:
            assert client.get(path).status_code in OK, path
        page = client.get("/collections/gd-counties/items?limit=100").json()
    return [str(f["id"]) for f in page["features"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.75, help="of the peak rate (≥ 0.7)")
    parser.add_argument("--read-url", help="ONEMAP_READ_DATABASE_URL of the replicas")
    parser.add_argument("--standby", action="store_true", help="stream one from the cluster")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/onemap-load"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir.chmod(0o755)  # the embedded cluster's postgres account goes through it
    shutil.rmtree(args.workdir / "tiles", ignore_errors=True)  # "uncached" means uncached
    shutil.rmtree(args.workdir / "nginx", ignore_errors=True)
    if args.standby and args.url:
        parser.error("--standby streams from the embedded cluster: give no URL")
    url, cluster = database(args.url, args.workdir)
    standby = streaming_standby(cluster) if args.standby and cluster is not None else None
    read_url = standby.dsn if standby is not None else args.read_url
    settings = {"read_database_url": read_url} if read_url else {}
    try:
        with balanced(url, args.workdir, settings=settings) as pair:
            calls = iter(Workload(warm(pair.nginx.url)))
            peak = find_peak(pair.nginx.url, calls)
            print(f"peak {peak:.1f} req/s; running at {args.share:.0%} of it")
            sustain(pair, calls, peak * args.share, args.minutes)
    finally:
        if standby is not None:
            standby.remove()
        if cluster is not None:
            cluster.stop()


def streaming_standby(cluster: EmbeddedCluster) -> Standby:
    """A streaming standby of the cluster on its own port (the replica tests' helper)."""
    enable_streaming(cluster)
    standby = Standby(cluster)
    standby.create()
    standby.start()
    print(f"standby streaming on port {standby.port}")
    return standby


if __name__ == "__main__":
    main()
