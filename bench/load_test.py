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
runs of nearest-facilities, written out as request lists that `wrk` replays
(bench/load_mix.lua: a load generator in C that costs the 2 cores little; the last
Python client took 77 % of a core). First a short ramp (as fast as 4 → 32 connections go,
10 s each) finds the peak rate; then --minutes one-minute runs at --share (0.75) of it, paced
by a schedule (a request waiting for a free connection counts as late), each followed by a
few seconds for the last answers, and reported per minute: rate, wrk's p50/p99/max, errors
(connection errors, timeouts, any 4xx/5xx), late requests, and each replica's resident memory
(its process tree) with its growth over the run (from the ramp's end); then per kind, from
nginx's own access log of the run.
Everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import resource
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
RAMP = (4, 8, 16, 32)  # closed-loop connections per ramp step
RAMP_STEP_S = 10.0
RAMP_LINES = 6000  # requests written per ramp step (wrk cycles them if it asks more)
SUSTAIN_CONNECTIONS = 64  # paced: beyond this many outstanding requests the client is the limit
WRK_THREADS = 2
DRAIN_S = 5  # after a paced minute: the last answers arrive before wrk stops
MIX_SCRIPT = Path(__file__).with_name("load_mix.lua")
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


def rss_mb(replica: Process) -> float:
    """Resident memory of a replica's process tree (uvicorn and any worker children)."""
    try:
        root = psutil.Process(replica.proc.pid)
        tree = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in tree) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def write_requests(calls: Iterator[Call], count: int, path: Path) -> Path:
    """``count`` requests of the mix, one per line, as bench/load_mix.lua reads them."""
    with path.open("w") as out:
        for call in itertools.islice(calls, count):
            body = json.dumps(call.body, separators=(",", ":")) if call.body is not None else ""
            path_and_query = quote(call.path, safe="/?=&.,:")  # wrk sends the bytes as written
            out.write(f"{'GET' if call.body is None else 'POST'}\t{path_and_query}\t{body}\n")
    return path


@dataclass
class Wrk:
    """One wrk run of the mix (its JSON summary) and the CPU wrk used."""

    summary: dict[str, float]
    cpu_s: float
    send_s: float | None  # paced runs send for this long, then let the last answers arrive

    @property
    def rate(self) -> float:
        return float(self.summary["requests"] / (self.send_s or self.summary["seconds"]))

    @property
    def errors(self) -> int:
        kinds = ("connect", "read", "write", "status", "timeout")
        return int(sum(self.summary[k] for k in kinds))


def run_wrk(base: str, requests: Path, rate: float, connections: int, seconds: float) -> Wrk:
    """wrk over ``requests`` at ``rate`` req/s (0: as fast as ``connections`` go) for
    ``seconds``; a paced run then waits DRAIN_S for the answers still on their way."""
    send_s = seconds if rate else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}"]
    command += [f"-d{seconds + (DRAIN_S if rate else 0):.0f}s", "--timeout", "60s"]
    command += ["-s", str(MIX_SCRIPT), base, "--", str(requests), f"{rate:.3f}", str(WRK_THREADS)]
    command += [f"{send_s:.0f}"] if send_s else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Wrk(json.loads(done.stdout.strip().splitlines()[-1]), cpu, send_s)


def find_peak(base: str, calls: Iterator[Call], workdir: Path) -> float:
    """Closed loop, as fast as 4 → 32 connections go; stop when the rate gains < 5 %."""
    best = 0.0
    for clients in RAMP:
        requests = write_requests(calls, RAMP_LINES, workdir / f"ramp-{clients}.tsv")
        run = run_wrk(base, requests, 0, clients, RAMP_STEP_S)
        print(
            f"ramp {clients:3d} connections: {run.rate:7.1f} req/s  "
            f"p99 {run.summary['p99_ms']:7.1f} ms  errors {run.errors}",
            flush=True,
        )
        if run.errors or run.rate < best * 1.05:
            best = max(best, run.rate)
            break  # saturated: more clients only queue
        best = run.rate
    return best


def sustain(cluster: Balanced, calls: Iterator[Call], rate: float, args: Any) -> None:
    """``args.minutes`` one-minute wrk runs back to back at ``rate``, memory after each."""
    memory = [[rss_mb(r) for r in cluster.replicas]]  # after the ramp, then each minute's end
    runs: list[Wrk] = []
    mark = cluster.access_log.stat().st_size
    for minute in range(args.minutes):
        count = int(rate * 60 * 1.2)
        requests = write_requests(calls, count, args.workdir / f"minute-{minute + 1}.tsv")
        runs.append(run_wrk(cluster.nginx.url, requests, rate, SUSTAIN_CONNECTIONS, 60))
        memory.append([rss_mb(r) for r in cluster.replicas])
    report(runs, memory, rate)
    by_kind(cluster.access_log, mark)


def report(runs: list[Wrk], memory: list[list[float]], rate: float) -> None:
    client_cpu = 100 * sum(r.cpu_s for r in runs) / sum(r.summary["seconds"] for r in runs)
    print(f"\nasked {rate:.1f} req/s for {len(runs)} min (wrk CPU {client_cpu:.1f} % of a core)")
    names = " | ".join(f"RSS {n + 1} MB" for n in range(len(memory[0])))
    print(f"min |  req/s |  p50 ms |  p99 ms |  max ms | errors | late >1 s | {names}")
    for minute, run in enumerate(runs):
        s = run.summary
        rss = " | ".join(f"{m:10.0f}" for m in memory[minute + 1])
        print(
            f"{minute + 1:3d} | {run.rate:6.1f} | {s['p50_ms']:7.1f} | {s['p99_ms']:7.1f} | "
            f"{s['max_ms']:7.1f} | {run.errors:6d} | {int(s['late_over_1s']):9d} | {rss}"
        )
    growth = [
        100 * (last - first) / first for first, last in zip(memory[0], memory[-1], strict=True)
    ]
    print(
        "memory growth over the run (from the end of the ramp): "
        + ", ".join(f"{g:+.1f} %" for g in growth)
    )


KINDS = (  # an access-log request path -> its kind (first match)
    ("wmts capabilities", re.compile(r"^/wmts\?")),
    ("wmts png", re.compile(r"^/wmts/")),
    ("tile uncached", re.compile(r"^/collections/gd-counties/tiles/\S+/1[456]/")),
    ("tile cached", re.compile(r"/tiles/")),
    ("feature", re.compile(r"^/collections/[^/]+/items/")),
    ("items", re.compile(r"^/collections/[^/]+/items")),
    ("search", re.compile(r"^/search")),
    ("process", re.compile(r"^/processes/")),
)
LOGGED = re.compile(r'"(?:GET|POST) (\S+) [^"]*" (\d{3}) \d+ ([\d.]+) ')


def by_kind(access_log: Path, offset: int) -> None:
    """Per kind, from nginx's own log of the sustained run: count, p50/p99, statuses."""
    times: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    with access_log.open() as log:
        log.seek(offset)
        for line in log:
            found = LOGGED.search(line)
            if found is None:
                continue
            path, status, seconds = found.groups()
            kind = next((k for k, pattern in KINDS if pattern.search(path)), "other")
            times[kind].append(1000 * float(seconds))
            statuses[kind][int(status)] += 1
    print("\nkind (nginx's log) |  count |  p50 ms |  p99 ms | statuses")
    for kind in sorted(times):
        spent = times[kind]
        print(
            f"{kind:18s} | {len(spent):6d} | {np.percentile(spent, 50):7.1f} | "
            f"{np.percentile(spent, 99):7.1f} | {dict(sorted(statuses[kind].items()))}"
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
            peak = find_peak(pair.nginx.url, calls, args.workdir)
            print(f"peak {peak:.1f} req/s; running at {args.share:.0%} of it", flush=True)
            sustain(pair, calls, peak * args.share, args)
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
