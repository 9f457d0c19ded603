"""A heavy process run against the server's memory and latency (issue 17: a k=64
interpolation took the server from 0.5 to 2.6 GB).

    flock /tmp/onemap-bench.lock .venv/bin/python bench/process_bounds.py URL \
        [--cell-m 600] [--neighbours 64] [--max-s 90]

URL: a database with the sample layers (migrated and loaded here when it has none). The
server runs as `onemap serve` runs it (one worker), twice: with
ONEMAP_PROCESS_MAX_MEMORY_MB=0 (the heavy part in the server process, as before) and with
the default bound (in a child process). Each time: the server's RSS (/proc, the server's
own process only) before and after one asynchronous IDW interpolation of
`synthetic-stations` and its peak (VmHWM), and the p50/p99 of GET /collections asked one
after another (at most 20 a second) while the job runs. Everything binds 127.0.0.1; each
run is bounded by --max-s.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.overload import onemap  # noqa: E402
from ingest.sample import load_sample_data  # noqa: E402
from layers.migrate import migrate  # noqa: E402

PROBE_RATE = 20  # GET /collections per second at most, one at a time


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def run(
    url: str, workdir: Path, max_memory_mb: str, inputs: dict[str, object], max_s: float
) -> str:
    bounds = {"ONEMAP_PROCESS_MAX_MEMORY_MB": max_memory_mb, "ONEMAP_JOBS_MAX_OPEN": "0"}
    server = onemap(url, workdir, bounds)
    base = f"http://127.0.0.1:{server.port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(20):  # warm: catalog, pages of /collections
                client.get("/collections").raise_for_status()
            before = memory_mb(server.proc.pid)
            job = client.post(
                "/processes/interpolation/execution",
                json={"inputs": inputs},
                headers={"Prefer": "respond-async"},
            )
            if job.status_code != 201:
                return f"{max_memory_mb:>6} MB bound: {job.status_code} {job.text[:300]}"
            href = job.headers["Location"].removeprefix(base)
            latencies, status = probe_while_running(base, client, href, max_s)
            after = memory_mb(server.proc.pid)
    finally:
        server.stop()
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    return (
        f"{max_memory_mb:>6} MB bound: job {status}; server RSS {before['VmRSS']:,.0f} → "
        f"{after['VmRSS']:,.0f} MB (peak {after['VmHWM']:,.0f}); GET /collections during the "
        f"run: n={len(latencies)} p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )


def probe_while_running(
    base: str, client: httpx.Client, href: str, max_s: float
) -> tuple[list[float], str]:
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:  # open loop at PROBE_RATE: a bounded load, not a flood
        with httpx.Client(base_url=base, timeout=30) as prober:
            while not done.wait(1 / PROBE_RATE):
                started = time.perf_counter()
                prober.get("/collections").raise_for_status()
                latencies.append(time.perf_counter() - started)

    thread = threading.Thread(target=probe)
    thread.start()
    deadline, status = time.monotonic() + max_s, "running"
    try:
        while time.monotonic() < deadline:
            info = client.get(href).json()
            status = f"{info['status']} ({info.get('message', '')[:120]})"
            if info["status"] not in ("accepted", "running"):
                break
            time.sleep(0.5)
    finally:
        done.set()
        thread.join()
    return latencies, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--cell-m", type=float, default=600.0)
    parser.add_argument("--neighbours", type=int, default=64)
    parser.add_argument("--max-s", type=float, default=90.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/onemap-process-bounds"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(args.url, autocommit=True) as conn:
        loaded = conn.execute("SELECT to_regclass('onemap.layers') IS NOT NULL").fetchone()
    if not (loaded and loaded[0]):
        migrate(args.url)
        load_sample_data(args.url)
    inputs = {
        "readings": {"collection": "synthetic-stations"},
        "value_field": "pm25",
        "method": "idw",
        "cell_m": args.cell_m,
        "neighbours": args.neighbours,
    }
    for bound in ("0", "4096"):
        print(run(args.url, args.workdir, bound, inputs, args.max_s), flush=True)


if __name__ == "__main__":
    main()
