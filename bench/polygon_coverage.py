"""Low-zoom polygon tiles against the data they come from (issue 18): pixel coverage, false
fill, bytes and statement time of overview tiles z6–z9 of a polygon layer (the bench
parcels), with the overview built by whatever ``tiles`` package is imported.

    .venv/bin/python bench/generate_data.py --points 250000 --polygons 250000
    (ingest bench/data/polygons.gpkg as bench-polygons into DATABASE_URL)
    .venv/bin/python bench/polygon_coverage.py DATABASE_URL [--tiles 25] [--rebuild]

Tiles are the ones under --tiles random parcels (fixed seed) per zoom; each is rendered by
the overview statement OneMap serves (the time of its first run, uncached) and compared
with the full-resolution parcels over it, rasterised alike (tests/helpers/coverage.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import shapely
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.catalog import Layer, load_catalog  # noqa: E402
from tests.helpers.coverage import Coverage, data_filled, tile_filled  # noqa: E402
from tests.tiles.helpers import decode, tile_at  # noqa: E402
from tiles import mvt, overview  # noqa: E402
from tiles.plan import TilePlan  # noqa: E402

LAYER = "bench-polygons"
ZOOMS = range(6, 10)


def ensure_overview(url: str, layer: Layer, rebuild: bool) -> float:
    name = overview.overview_table_name(layer, mvt.MERCATOR)
    with psycopg.connect(url, autocommit=True) as conn:
        if rebuild:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier("onemap_data", name))
            )
            conn.execute("DELETE FROM onemap.tile_overviews WHERE table_name = %s", [name])

    async def build() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await overview.build_overview(conn, layer, mvt.MERCATOR)

    started = time.monotonic()
    asyncio.run(build())
    return time.monotonic() - started


def sample_tiles(conn: psycopg.Connection, layer: Layer, count: int) -> list[tuple[int, int, int]]:
    query = sql.SQL(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT fid, ST_Centroid(geom) AS c FROM {}) AS s"
        " ORDER BY fid"
    ).format(sql.Identifier("onemap_data", layer.table_name))
    points = np.array(conn.execute(query).fetchall())
    chosen = points[np.random.default_rng(18).choice(len(points), count, replace=False)]
    tiles = set()
    for z in ZOOMS:
        tiles |= {(z, *tile_at("WebMercatorQuad", z, lon, lat)) for lon, lat in chosen}
    return sorted(tiles)


def data_in(conn: psycopg.Connection, layer: Layer, spec: mvt.TileSpec) -> np.ndarray:
    query = sql.SQL(
        "SELECT ST_AsBinary(ST_Transform(geom, 3857)) FROM {} "
        "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490)"
    ).format(sql.Identifier("onemap_data", layer.table_name))
    rows = conn.execute(query, spec.search_box()).fetchall()
    return shapely.from_wkb([bytes(r[0]) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--tiles", type=int, default=25)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    with psycopg.connect(args.url) as conn:
        layer = load_catalog(conn).get(LAYER)
    print(f"overview built in {ensure_overview(args.url, layer, args.rebuild):.1f}s")
    table = overview.overview_table_name(layer, mvt.MERCATOR)
    statement = TilePlan.of(layer).statement(mvt.MERCATOR, "mvt", layer.field_names, table)
    per_zoom: dict[int, list[tuple[Coverage, int, float]]] = {z: [] for z in ZOOMS}
    with psycopg.connect(args.url) as conn:
        for z, row, col in sample_tiles(conn, layer, args.tiles):
            spec = mvt.TileSpec.of("WebMercatorQuad", z, row, col)
            started = time.perf_counter()
            found = conn.execute(statement.encode(), spec.params()).fetchone()
            elapsed = time.perf_counter() - started
            data = bytes(found[0]) if found and found[0] else b""
            features = decode(data).get(LAYER, {}).get("features", [])
            result = Coverage.of(
                tile_filled(features), data_filled(data_in(conn, layer, spec), spec.bounds)
            )
            per_zoom[z].append((result, len(data), elapsed))
    print("zoom tiles coverage(mean/min) false_fill(mean) bytes(mean/max) statement_ms(mean)")
    for z, results in per_zoom.items():
        cov = [r.covered for r, _, _ in results]
        sizes = [n for _, n, _ in results]
        print(
            f"z{z} {len(results)} {statistics.mean(cov):.3f}/{min(cov):.3f} "
            f"{statistics.mean(r.false_fill for r, _, _ in results):.3f} "
            f"{statistics.mean(sizes):.0f}/{max(sizes)} "
            f"{1000 * statistics.mean(t for _, _, t in results):.1f}"
        )


if __name__ == "__main__":
    main()
