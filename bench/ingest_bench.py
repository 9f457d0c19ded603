"""Ingest benchmark: OneMap's `onemap ingest` against `ogr2ogr -f PostgreSQL` (PG_USE_COPY=YES).

Both load the same generated GeoPackages (bench/generate_data.py) into the same PostGIS,
alternating A B A B …; each run is a fresh process, timed by wall clock with its peak
RSS from wait4(). OneMap's runs include everything it always does: CRS resolution,
validation and repair, spatial index, ANALYZE, catalog swap and lineage.

    .venv/bin/python bench/generate_data.py
    .venv/bin/python bench/ingest_bench.py --database-url postgresql://postgres@127.0.0.1/bench -n 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

HERE = Path(__file__).resolve().parent
ONEMAP = Path(sys.executable).with_name("onemap")


def run(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (kB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(
            f"{command[0]} failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return wall, usage.ru_maxrss


def onemap_command(path: Path, url: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "ONEMAP_DATABASE_URL": url}
    return [str(ONEMAP), "ingest", str(path), "--id", f"bench-{uuid.uuid4().hex[:8]}"], env


def ogr_command(path: Path, url: str) -> tuple[list[str], dict[str, str]]:
    params = conninfo_to_dict(url)
    pg = " ".join(
        f"{k}={v}" for k, v in params.items() if k in ("host", "port", "user", "dbname", "password")
    )
    table = f"ogr_{uuid.uuid4().hex[:8]}"
    command = [
        "ogr2ogr",
        "-f",
        "PostgreSQL",
        f"PG:{pg}",
        str(path),
        "-nln",
        table,
        "-lco",
        "GEOMETRY_NAME=geom",
        "-lco",
        "SCHEMA=public",
    ]
    return command, {**os.environ, "PG_USE_COPY": "YES"}


def bench(path: Path, url: str, repeats: int, settle: bool) -> dict[str, list[tuple[float, int]]]:
    results: dict[str, list[tuple[float, int]]] = {"onemap": [], "ogr2ogr": []}
    for _ in range(repeats):
        for tool, command in (("onemap", onemap_command), ("ogr2ogr", ogr_command)):
            if settle:
                checkpoint(url)
            results[tool].append(run(*command(path, url)))
    return results


def checkpoint(url: str) -> None:
    """Write back what the previous run left dirty, so no run pays for another's."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def report(name: str, results: dict[str, list[tuple[float, int]]]) -> None:
    ours, theirs = results["onemap"], results["ogr2ogr"]
    ratios = [a[0] / b[0] for a, b in zip(ours, theirs, strict=True)]
    print(f"\n{name}")
    for tool, runs in results.items():
        walls = [w for w, _ in runs]
        peak_mb = max(r for _, r in runs) / 1024
        print(
            f"  {tool:<8} wall median {statistics.median(walls):6.2f} s "
            f"(min {min(walls):.2f}, max {max(walls):.2f})   peak RSS {peak_mb:6.0f} MB"
        )
    print(
        f"  ratio onemap/ogr2ogr, pair by pair: median {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
    )


def cleanup(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for (table,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'ogr\\_%'"
        ):
            conn.execute(f'DROP TABLE public."{table}"')


def compile_bytecode() -> None:
    """Time OneMap as pip installs it: with its modules compiled to bytecode.

    A checkout run with PYTHONDONTWRITEBYTECODE set (as on the CI machines) would
    otherwise compile its ~60 modules from source in every run, ~30 ms of each.
    """
    packages = [str(HERE.parent / name) for name in ("ingest", "layers", "ogc", "tiles", "spatial")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-n", type=int, default=3, help="runs of each tool per file")
    parser.add_argument(
        "--no-checkpoint",
        action="store_true",
        help="do not CHECKPOINT before each run (runs then inherit each other's dirty buffers)",
    )
    args = parser.parse_args()
    compile_bytecode()
    subprocess.run(
        [str(ONEMAP), "db", "migrate"],
        env={**os.environ, "ONEMAP_DATABASE_URL": args.database_url},
        check=True,
        capture_output=True,
    )
    for name in ("points", "polygons"):
        path = HERE / "data" / f"{name}.gpkg"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run bench/generate_data.py first")
        report(
            f"{name} ({path.stat().st_size / 1e6:.0f} MB GeoPackage)",
            bench(path, args.database_url, args.n, settle=not args.no_checkpoint),
        )
    cleanup(args.database_url)


if __name__ == "__main__":
    main()
