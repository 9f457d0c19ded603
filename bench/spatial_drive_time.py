"""A 15-minute drive-time area over a city road network of ≥ 50,000 edges (pgRouting).

The network (a 160 × 160 street grid, ~110 m blocks, 20–60 km/h) is generated, published
through the normal ingest path, and routed from its centre. Uses ONEMAP_DATABASE_URL, or a
throw-away embedded PostGIS cluster.

    .venv/bin/python bench/spatial_drive_time.py [--side 160] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ingest.pipeline import IngestOptions, ingest_file
from layers.catalog import load_catalog
from layers.catalog_write import LayerMeta
from layers.db import connect
from layers.embedded import EmbeddedCluster
from layers.migrate import migrate
from spatial.isochrones import service_areas
from spatial.network import ensure_network

ORIGIN = (113.20, 23.00)
STEP = 0.001


def street_grid(side: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(15)
    lines = []
    for i in range(side):
        for j in range(side):
            x, y = ORIGIN[0] + i * STEP, ORIGIN[1] + j * STEP
            if i + 1 < side:
                lines.append(shapely.LineString([(x, y), (x + STEP, y)]))
            if j + 1 < side:
                lines.append(shapely.LineString([(x, y), (x, y + STEP)]))
    speeds = rng.choice([20.0, 30.0, 40.0, 60.0], len(lines), p=[0.3, 0.4, 0.2, 0.1])
    return gpd.GeoDataFrame({"speed_kmh": speeds}, geometry=lines, crs=4490)


def database(workdir: Path) -> tuple[str, EmbeddedCluster | None]:
    url = os.environ.get("ONEMAP_DATABASE_URL")
    if url:
        return url, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    cluster = EmbeddedCluster(workdir, port)
    return cluster.start(), cluster


@contextmanager
def streets_published(side: int, layer_id: str) -> Iterator[tuple[str, gpd.GeoDataFrame]]:
    """The database (migrated) with the street grid published as ``layer_id``, and the grid;
    an embedded cluster and the work folder are removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="onemap-bench-"))
    workdir.chmod(0o755)
    url, cluster = database(workdir)
    try:
        migrate(url)
        roads = street_grid(side)
        path = workdir / "streets.gpkg"
        roads.to_file(path, driver="GPKG")
        meta = LayerMeta(
            id=layer_id,
            title_zh="基准街网",
            title_en="Bench streets",
            level="city",
            adcode="440100",
        )
        ingest_file(url, path, meta, IngestOptions(who="bench", raster_dir=workdir))
        yield url, roads
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=160)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    streets = streets_published(args.side, "bench-city-streets")
    with streets as (url, roads), connect(url, autocommit=True) as conn:
        layer = load_catalog(conn).get("bench-city-streets")
        started = time.perf_counter()
        net = ensure_network(conn, layer, None)
        print(f"{len(roads)} edges; network built once in {time.perf_counter() - started:.2f}s")
        centre = (ORIGIN[0] + STEP * args.side / 2, ORIGIN[1] + STEP * args.side / 2)
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            _areas, nodes = service_areas(conn, net, *centre, [5, 10, 15])
            timings.append(time.perf_counter() - started)
        print(
            f"15-min drive time (bands 5/10/15, {len(nodes)} nodes reached): "
            f"median {statistics.median(timings) * 1000:.0f} ms over {args.runs} runs "
            f"(min {min(timings) * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
