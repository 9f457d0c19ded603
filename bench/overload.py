"""Overload: a cached tile's latency while heavy requests flood the worker (issue 16).

    flock /tmp/onemap-bench.lock .venv/bin/python bench/overload.py [URL] [--phase 8] \
        [--heavy-clients 48] [--workdir /tmp/onemap-overload]

URL: a database with the sample layers (e.g. `make serve`'s, postgresql://onemap@127.0.0.1:55432/onemap);
without it an embedded cluster in --workdir gets them (kept between runs). OneMap runs as
`onemap serve` runs it (one worker, the default admission and pool settings unless ONEMAP_*
says otherwise). A tile is made once and cached; then `wrk` asks for it for --phase seconds
alone (the baseline) and again while --heavy-clients threads ask for heavy things without
pause: 1,000-feature sorted pages, uncached tiles and searches. Reported: the cached tile's
p50/p99 in both phases, and the heavy answers by status with their p99 (503s are the shed
ones: they must come fast). Everything binds 127.0.0.1; the whole run is bounded (≤ 60 s of
load).
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tiles_servers import Server, free_port  # noqa: E402
from ingest.sample import load_sample_data  # noqa: E402
from layers.embedded import EmbeddedCluster  # noqa: E402
from layers.migrate import migrate  # noqa: E402

CACHED = "/collections/gd-cities/tiles/WebMercatorQuad/6/27/51"
MAX_PHASE_S = 25  # two phases: the load stays under a minute
WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def onemap(url: str, workdir: Path, settings: dict[str, str] | None = None) -> Server:
    """``onemap serve`` on ``url`` (one worker), with ``settings`` (ONEMAP_*) on top."""
    port = free_port()
    env = {
        "ONEMAP_PORT": str(port),
        "ONEMAP_LOG_LEVEL": "warning",
        "ONEMAP_DATA_DIR": str(workdir / "onemap-data"),
        "ONEMAP_LOAD_SAMPLE_DATA": "false",
        "PYTHONPATH": str(ROOT),
    } | (settings or {})
    code = (
        "import sys; from layers.settings import ServiceSettings; "
        "from ogc.server.serve import serve_http; serve_http(ServiceSettings(), sys.argv[1])"
    )
    return Server([sys.executable, "-c", code, url], env, port, "/readyz", workdir / "onemap.log")


def wrk(base: str, seconds: int) -> dict[str, float]:
    """The cached tile's latency percentiles (ms) and rate from wrk -t1 -c4."""
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", base + CACHED],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {
        f"p{p}": float(v) * WRK_UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    found["req/s"] = float(rate[1]) if rate else 0.0
    return found


def heavy_paths() -> Iterator[str]:
    """Sorted 1,000-feature pages, tiles at level 12 over the Pearl River delta (each a miss
    the first time) and searches, in turn, without end."""
    tiles = (
        f"/collections/gd-counties/tiles/WebMercatorQuad/12/{row}/{col}"
        for row in range(1760, 1800)
        for col in range(3320, 3360)
    )
    for n in itertools.count():
        yield f"/collections/gd-counties/items?limit=1000&sortby=-name&offset={n % 5}"
        yield next(tiles, CACHED)
        yield f"/search?q={('广州', '天河', '深圳', '4401', '佛山')[n % 5]}"


def flood(base: str, stop: threading.Event, clients: int) -> list[tuple[int, float]]:
    paths, lock = heavy_paths(), threading.Lock()
    seen: list[tuple[int, float]] = []

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while not stop.is_set():
                with lock:
                    path = next(paths)
                started = time.monotonic()
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError:
                    status = 0
                seen.append((status, (time.monotonic() - started) * 1000))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=60)
    return seen


def database(url: str | None, workdir: Path) -> tuple[str, EmbeddedCluster | None]:
    if url:
        return url, None
    cluster = EmbeddedCluster(workdir, free_port())
    url = cluster.start()
    migrate(url)
    load_sample_data(url)
    return url, cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--phase", type=int, default=8, help="seconds per phase (≤ 25)")
    parser.add_argument("--heavy-clients", type=int, default=48)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/onemap-overload"))
    args = parser.parse_args()
    phase = min(args.phase, MAX_PHASE_S)
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir.chmod(0o755)  # the embedded cluster's postgres account goes through it
    url, cluster = database(args.url, args.workdir)
    server = onemap(url, args.workdir)
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(base + CACHED).status_code == 200  # made once, cached from now on
        alone = wrk(base, phase)
        stop = threading.Event()
        heavy: list[tuple[int, float]] = []
        flooding = threading.Thread(
            target=lambda: heavy.extend(flood(base, stop, args.heavy_clients))
        )
        flooding.start()
        time.sleep(1.0)  # the flood is at full strength
        loaded = wrk(base, phase)
        stop.set()
        flooding.join(timeout=90)
    finally:
        server.stop()
        if cluster is not None:
            cluster.stop()
    report(alone, loaded, heavy)


def report(
    alone: dict[str, float], loaded: dict[str, float], heavy: list[tuple[int, float]]
) -> None:
    print(
        f"cached tile alone:        p50 {alone['p50']:.2f} ms  p99 {alone['p99']:.2f} ms  "
        f"{alone['req/s']:.0f} req/s"
    )
    print(
        f"cached tile under flood:  p50 {loaded['p50']:.2f} ms  p99 {loaded['p99']:.2f} ms  "
        f"{loaded['req/s']:.0f} req/s"
    )
    for status, count in sorted(Counter(s for s, _ in heavy).items()):
        times = np.array([ms for s, ms in heavy if s == status])
        print(
            f"heavy {status}: {count:6d}  p50 {np.percentile(times, 50):8.1f} ms  "
            f"p99 {np.percentile(times, 99):8.1f} ms"
        )


if __name__ == "__main__":
    main()
