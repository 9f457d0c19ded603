"""Tile benchmark: OneMap (uncached and cached) vs TiPg vs nginx, same PostGIS, same tiles.

    .venv/bin/python bench/generate_data.py            # bench/data/{points,polygons}.gpkg
    python3 -m venv /tmp/tipg-venv && /tmp/tipg-venv/bin/pip install tipg "uvicorn[standard]"
    apt-get install nginx-light wrk
    flock /tmp/onemap-bench.lock .venv/bin/python bench/tiles_bench.py [--urls 200] \
        [--concurrency 16] [--duration 15] [--sessions 60]

Everything binds 127.0.0.1. An embedded PostGIS cluster in --workdir (kept between runs) gets
both layers through the normal ingest; their overviews are built up front (timed and
reported: it is a one-off per layer version, like an index). Each layer is measured on two
lists: "sampled", --urls tiles around random features with z6–14 equally often (low zooms
weigh heavily), and "client", the distinct tiles --sessions map clients ask for while panning
and zooming over the province (``client_tiles``: mostly high zooms, as real traffic is).
Uncached rates come from one pass over a list at the given concurrency after a warm-up pass
(TiPg has no cache; OneMap gets a fresh cache directory for the measured pass), beside two
floors: OneMap's own statement run alone (``onemap_statement_floor``) and a TiPg-like
statement. Cached rates come from `wrk` cycling over the list for --duration seconds, with and
without `Accept-Encoding: gzip`, against OneMap's cache and against nginx serving the very
same bytes (the stored gzip files; the identity sidecars OneMap keeps beside them).
--cached-only measures the cache hits alone (a pass over each list fills a fresh cache first):
minutes instead of the whole run, for work on the hit path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tiles_servers import nginx_server, onemap_server, tipg_server  # noqa: E402
from ingest.pipeline import LayerMeta, ingest_file  # noqa: E402
from layers.catalog import load_catalog  # noqa: E402
from layers.embedded import EmbeddedCluster  # noqa: E402
from layers.errors import NotFound  # noqa: E402
from layers.migrate import migrate  # noqa: E402
from tiles import grids, mvt, overview  # noqa: E402
from tiles.cache import IDENTITY  # noqa: E402
from tiles.plan import TilePlan  # noqa: E402

LAYERS = {"bench-points": "points.gpkg", "bench-polygons": "polygons.gpkg"}
WARM_S = 5  # an untimed wrk run before each measured one over cached tiles


def prepare_database(workdir: Path, data: Path) -> str:
    url = EmbeddedCluster(workdir, 55987).start()
    migrate(url)
    with psycopg.connect(url) as conn:
        known = {row[0] for row in conn.execute("SELECT id FROM onemap.layers").fetchall()}
    for layer_id, name in LAYERS.items():
        if layer_id not in known:
            started = time.monotonic()
            meta = LayerMeta(
                id=layer_id, title_zh=layer_id, title_en=layer_id, level="province", adcode="440000"
            )
            ingest_file(url, data / name, meta)
            print(f"ingested {layer_id} in {time.monotonic() - started:.0f}s", flush=True)
    return url


def build_overviews(url: str) -> dict[str, float]:
    with psycopg.connect(url) as conn:
        catalog = load_catalog(conn)
    timings = {}

    async def build(layer_id: str) -> None:
        """Every family the server would build (Web Mercator and the geographic grids'):
        one left out is built by each OneMap server the benchmark starts, in the background
        of its measurement — the geographic polygon overview outlasted every server's life."""
        layer = catalog.get(layer_id)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for family in (mvt.MERCATOR, mvt.GEOGRAPHIC):
                if overview.wants_overview(layer, family, 0):
                    await overview.build_overview(conn, layer, family)

    for layer_id in LAYERS:
        started = time.monotonic()
        asyncio.run(build(layer_id))
        timings[layer_id] = round(time.monotonic() - started, 1)
    return timings


def sample_points(url: str, layer_id: str, count: int, seed: int) -> tuple[Any, list[Any]]:
    """The layer and up to ``count`` (lon, lat) on random features (a repeatable sample)."""
    with psycopg.connect(url) as conn:
        layer = load_catalog(conn).get(layer_id)
        rows = conn.execute(
            psycopg.sql.SQL(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM {} "
                "TABLESAMPLE SYSTEM (1) REPEATABLE (%s) LIMIT %s) s"
            ).format(psycopg.sql.Identifier("onemap_data", layer.table_name)),
            [seed, count],
        ).fetchall()
    return layer, rows


def sample_tiles(url: str, layer_id: str, count: int, seed: int = 6) -> list[tuple[int, int, int]]:
    """(z, row, col) around random features, zooms 6–14 evenly."""
    rng = np.random.default_rng(seed)
    _, rows = sample_points(url, layer_id, count, seed)
    tms = grids.get_tms("WebMercatorQuad")
    tiles = []
    for i, (lon, lat) in enumerate(rows[:count]):
        z = 6 + i % 9
        tile = tms.tile(lon, lat, z)
        tiles.append((z, tile.y, tile.x))
    rng.shuffle(tiles)
    return tiles


def client_tiles(
    url: str, layer_id: str, sessions: int, seed: int = 18
) -> list[tuple[int, int, int]]:
    """The distinct tiles map clients ask for while panning and zooming over the province:
    each session opens a 5×4-tile viewport (1280×1024 px) at z6–7 over the province, pans
    one or two tiles a few times per level and zooms in towards a feature, down to a random
    level in z10–14. Sessions are interleaved as concurrent users' requests are; each tile
    is listed once (its first request), so no server ever sees it twice; tiles outside the
    tileset's limits are left out, as a client reading the tileset's limits leaves them."""
    rng = np.random.default_rng(seed)
    layer, targets = sample_points(url, layer_id, sessions, seed)
    tms = grids.get_tms("WebMercatorQuad")
    walks = []
    for lon, lat in targets:
        walk: list[tuple[int, int, int]] = []
        deepest = int(rng.integers(10, 15))
        for z in range(int(rng.integers(6, 8)), deepest + 1):
            centre = tms.tile(lon, lat, z)
            col, row = centre.x, centre.y
            for _ in range(int(rng.integers(1, 4))):  # the view, then a pan or two
                walk += [
                    (z, r, c) for r in range(row - 2, row + 2) for c in range(col - 2, col + 3)
                ]
                col += int(rng.integers(-2, 3))
                row += int(rng.integers(-1, 2))
        walks.append(walk)
    seen: set[tuple[int, int, int]] = set()
    tiles = []
    for step in range(max(len(w) for w in walks)):
        for walk in walks:
            if step < len(walk) and walk[step] not in seen:
                seen.add(walk[step])
                if _within_limits(layer, *walk[step]):
                    tiles.append(walk[step])
    return tiles


def _within_limits(layer: Any, z: int, row: int, col: int) -> bool:
    try:
        grids.check_within_limits("WebMercatorQuad", layer.extent, z, row, col)
    except NotFound:
        return False
    return True


def set_database_jit(url: str, value: str | None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if value is None:
            conn.execute("ALTER DATABASE onemap RESET jit")
        else:
            conn.execute(
                psycopg.sql.SQL("ALTER DATABASE onemap SET jit = {}").format(
                    psycopg.sql.Literal(value)
                )
            )


async def one_pass(base: str, paths: list[str], concurrency: int) -> dict[str, Any]:
    """Each path once at the given concurrency: rate, latency percentiles, sizes per zoom."""
    latencies: list[float] = []
    sizes: dict[int, int] = defaultdict(int)
    wire: dict[int, int] = defaultdict(int)
    statuses: dict[int, int] = defaultdict(int)
    queue = list(paths)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def worker() -> None:
            while queue:
                path = queue.pop()
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                z = int(re.findall(r"/(\d+)/\d+/\d+", path)[-1])
                sizes[z] = max(sizes[z], len(response.content))
                wire[z] = max(wire[z], response.num_bytes_downloaded)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "req_s": round(len(paths) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "largest_bytes_by_zoom": dict(sorted(sizes.items())),
        "largest_wire_bytes_by_zoom": dict(sorted(wire.items())),
        "statuses": dict(statuses),
    }


FLOOR_SQL = (
    "SELECT ST_AsMVT(t, 'default', 4096, 'geom') FROM ("
    " SELECT ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),"
    " 4096, 64, true) AS geom, {columns} FROM {table}"
    " WHERE geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4490) LIMIT 10000) t"
)


async def postgis_floor(
    url: str, layer: Any, tiles: list[tuple[int, int, int]], concurrency: int, jit: str
) -> dict[str, Any]:
    """The tile SQL alone, capped at 10,000 features as TiPg does, at the same concurrency."""
    sql = psycopg.sql
    statement = sql.SQL(FLOOR_SQL).format(
        columns=sql.SQL(", ").join(sql.Identifier(n) for n in layer.field_names),
        table=sql.Identifier("onemap_data", layer.table_name),
    )
    queue = list(tiles)
    latencies: list[float] = []

    async def worker() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(sql.SQL("SET jit = {}").format(sql.Literal(jit)))
            while queue:
                z, row, col = queue.pop()
                started = time.perf_counter()
                await conn.execute(statement, {"z": z, "x": col, "y": row})
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "req_s": round(len(tiles) / elapsed, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


async def onemap_statement_floor(
    url: str, layer: Any, tiles: list[tuple[int, int, int]], concurrency: int
) -> dict[str, Any]:
    """OneMap's own tile statement (its overview table where it reads one, prepared, binary,
    JIT off, as ``tiles.service`` runs it) with no HTTP around it: the floor OneMap is held to."""
    plan = TilePlan.of(layer)
    queue = list(tiles)
    latencies: list[float] = []

    async def worker() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("SET jit = off")
            while queue:
                z, row, col = queue.pop()
                spec = mvt.TileSpec.of("WebMercatorQuad", z, row, col)
                if not spec.intersects(layer.extent):
                    continue
                table = None
                if overview.wants_overview(layer, spec.family, spec.level):
                    table = overview.overview_table_name(layer, spec.family)
                statement = plan.statement(spec.family, "mvt", layer.field_names, table)
                started = time.perf_counter()
                await conn.execute(statement, spec.params(), prepare=True, binary=True)
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "req_s": round(len(tiles) / elapsed, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def wrk(
    base: str,
    paths: list[str],
    concurrency: int,
    duration: int,
    workdir: Path,
    gzip: bool = True,
) -> dict[str, Any]:
    script = workdir / "urls.lua"
    listed = ",\n".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local urls = {{{listed}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #urls + 1\n  return wrk.format('GET', urls[i])\nend\n"
    )
    command = ["wrk", "-t2", f"-c{concurrency}", "--latency"]
    command += [*(["-H", "Accept-Encoding: gzip"] if gzip else []), "-s", str(script), base]
    # Untimed first: every tile once in each worker (its memory entry; for a client that
    # refuses gzip, the identity sidecar made once), as a server under steady traffic has it.
    subprocess.run([*command, f"-d{WARM_S}s"], capture_output=True, check=True)
    out = subprocess.run(
        [*command, f"-d{duration}s"], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if failed:  # an error page is cheaper than a tile: such a rate compares nothing
        raise RuntimeError(f"{base}: {failed.group(1)} answers were not 2xx:\n{out}")
    return {
        "req_s": rate,
        "p99_ms": round(float(p99.group(1)) * factor[p99.group(2)], 2) if p99 else None,
    }


def low_zoom_sizes(base: str, layer_id: str) -> dict[int, int]:
    """Largest OneMap tile per zoom 0–6 over the whole province."""
    out: dict[int, int] = {}
    with httpx.Client(base_url=base, timeout=300) as client:
        for limits in grids.matrix_limits("WebMercatorQuad", (109.6, 20.2, 117.4, 25.6), range(7)):
            z = int(limits.tile_matrix)
            for row in range(limits.min_row, limits.max_row + 1):
                for col in range(limits.min_col, limits.max_col + 1):
                    size = len(
                        client.get(
                            f"/collections/{layer_id}/tiles/WebMercatorQuad/{z}/{row}/{col}"
                        ).content
                    )
                    out[z] = max(out.get(z, 0), size)
    return out


def bench_layer(url: str, layer_id: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        layer = load_catalog(conn).get(layer_id)
    lists = {
        "sampled": sample_tiles(url, layer_id, args.urls),
        "client": client_tiles(url, layer_id, args.sessions),
    }
    return {
        name: bench_list(url, layer, name, tiles, args, workdir) for name, tiles in lists.items()
    }


def bench_list(
    url: str,
    layer: Any,
    name: str,
    tiles: list[tuple[int, int, int]],
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """One tile list through every system: uncached (TiPg, OneMap, both floors), then cached
    hits with and without gzip (OneMap, nginx serving the same bytes)."""
    ours = [f"/collections/{layer.id}/tiles/WebMercatorQuad/{z}/{r}/{c}" for z, r, c in tiles]
    theirs = [
        f"/collections/onemap_data.{layer.table_name}/tiles/WebMercatorQuad/{z}/{c}/{r}"
        for z, r, c in tiles
    ]
    zooms: dict[int, int] = defaultdict(int)
    for z, _, _ in tiles:
        zooms[z] += 1
    result: dict[str, Any] = {"tiles": len(tiles), "tiles_by_zoom": dict(sorted(zooms.items()))}
    if args.cached_only:
        return result | cached_hits(url, layer, ours, args, workdir)
    for jit in ("on", "off"):
        # TiPg as shipped runs with the server's JIT (on by default); OneMap turns JIT off
        # for its tile sessions. TiPg is measured both ways so the engines compare fairly.
        set_database_jit(url, jit)
        tipg = tipg_server(url, args.tipg, workdir)
        try:
            base = f"http://127.0.0.1:{tipg.port}"
            asyncio.run(one_pass(base, theirs, args.concurrency))  # warm-up (catalog, buffers)
            result[f"tipg_jit_{jit}"] = asyncio.run(one_pass(base, theirs, args.concurrency))
        finally:
            tipg.stop()
    set_database_jit(url, None)
    for jit in ("on", "off"):
        result[f"postgis_floor_jit_{jit}"] = asyncio.run(
            postgis_floor(url, layer, tiles, args.concurrency, jit)
        )
    result["onemap_statement_floor"] = asyncio.run(
        onemap_statement_floor(url, layer, tiles, args.concurrency)
    )
    warm_cache, cache = workdir / f"cache-warm-{layer.id}", workdir / f"cache-{layer.id}"
    for folder in (warm_cache, cache):
        shutil.rmtree(folder, ignore_errors=True)
    server = onemap_server(url, warm_cache, workdir)
    try:
        asyncio.run(one_pass(f"http://127.0.0.1:{server.port}", ours, args.concurrency))
    finally:
        server.stop()
    # The measured process is warmed like TiPg's (its connections and prepared statements)
    # on *other* tiles, so the tiles measured are still uncached.
    others = [
        f"/collections/{layer.id}/tiles/WebMercatorQuad/{z}/{r}/{c}"
        for z, r, c in sample_tiles(url, layer.id, 64, seed=99)
    ]
    server = onemap_server(url, cache, workdir)
    try:
        base = f"http://127.0.0.1:{server.port}"
        asyncio.run(one_pass(base, [p for p in others if p not in ours], args.concurrency))
        result["onemap_uncached"] = asyncio.run(one_pass(base, ours, args.concurrency))
        result |= onemap_hits(base, ours, args, workdir)
        if name == "sampled":
            result["onemap_largest_z0_6"] = low_zoom_sizes(base, layer.id)
    finally:
        server.stop()
    return result | nginx_hits(cache, args, workdir)


def cached_hits(
    url: str, layer: Any, ours: list[str], args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """--cached-only: a fresh cache filled by one pass over the list, then the hits alone."""
    cache = workdir / f"cache-{layer.id}"
    shutil.rmtree(cache, ignore_errors=True)
    server = onemap_server(url, cache, workdir)
    try:
        base = f"http://127.0.0.1:{server.port}"
        asyncio.run(one_pass(base, ours, args.concurrency))
        result = onemap_hits(base, ours, args, workdir)
    finally:
        server.stop()
    return result | nginx_hits(cache, args, workdir)


def onemap_hits(
    base: str, ours: list[str], args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """wrk over the cached list, with and without gzip (the identity pass makes the sidecars)."""
    result: dict[str, Any] = {}
    for gzip in (True, False):
        label = "onemap_cached" if gzip else "onemap_cached_identity"
        result[label] = wrk(base, ours, args.concurrency, args.duration, workdir, gzip)
    return result


def nginx_hits(cache: Path, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """nginx serving the very files OneMap's hits read: gzip tiles and identity sidecars."""
    result: dict[str, Any] = {}
    stored = sorted(p for p in cache.rglob("*.mvt") if p.stat().st_size)
    identity = sorted(cache.rglob("*" + IDENTITY))  # written by the pass without gzip
    nginx = nginx_server(cache, workdir)
    try:
        for label, files, gzip in (("nginx", stored, True), ("nginx_identity", identity, False)):
            paths = ["/" + str(f.relative_to(cache)) for f in files]
            result[label] = wrk(
                f"http://127.0.0.1:{nginx.port}",
                paths,
                args.concurrency,
                args.duration,
                workdir,
                gzip,
            )
    finally:
        nginx.stop()
    return result


def print_hits_table(report: dict[str, Any]) -> None:
    """--cached-only: OneMap's hits against nginx serving the same files."""
    print("| layer | list (tiles) | cached gzip / nginx | cached identity / nginx |")
    print("|---|---|---|---|")
    for layer_id in LAYERS:
        for name, r in report.get(layer_id, {}).items():
            print(f"| {layer_id} | {name} ({r['tiles']}) | {hit_cells(r)}")


def hit_cells(r: dict[str, Any]) -> str:
    """The two cached-hit columns: OneMap / nginx with gzip, then without."""
    cached, nginx = r["onemap_cached"]["req_s"], r["nginx"]["req_s"]
    plain, nginx_plain = r["onemap_cached_identity"]["req_s"], r["nginx_identity"]["req_s"]
    return (
        f"{cached:,.0f} / {nginx:,.0f} = {cached / nginx:.0%} | "
        f"{plain:,.0f} / {nginx_plain:,.0f} = {plain / nginx_plain:.0%} |"
    )


def print_table(report: dict[str, Any]) -> None:
    """The figures the issues ask for; uncached is compared with TiPg's better JIT setting."""
    print(
        "| layer | list (tiles) | TiPg JIT on / off req/s | OneMap uncached req/s (p99 ms) | "
        "vs TiPg | floor: OneMap's statement / TiPg-like | vs OneMap's floor | "
        "cached gzip / nginx | cached identity / nginx |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for layer_id in LAYERS:
        for name, r in report.get(layer_id, {}).items():
            on, off, ours = r["tipg_jit_on"], r["tipg_jit_off"], r["onemap_uncached"]
            tipg = max(on["req_s"], off["req_s"])
            floor = r["onemap_statement_floor"]["req_s"]
            tipg_floor = max(
                r["postgis_floor_jit_on"]["req_s"], r["postgis_floor_jit_off"]["req_s"]
            )
            print(
                f"| {layer_id} | {name} ({r['tiles']}) | {on['req_s']} / {off['req_s']} | "
                f"{ours['req_s']} ({ours['p99_ms']:.0f}) | {ours['req_s'] / tipg:.1f}× | "
                f"{floor} / {tipg_floor} | {ours['req_s'] / floor:.2f}× | {hit_cells(r)}"
            )
    for layer_id in LAYERS:
        r = report.get(layer_id, {}).get("sampled")
        if r is None:
            continue
        sizes = r["onemap_uncached"]["largest_bytes_by_zoom"]
        wire = r["onemap_uncached"]["largest_wire_bytes_by_zoom"]
        print(
            f"{layer_id} largest tile per zoom, KB (gzip on the wire): "
            + ", ".join(f"z{z} {sizes[z] / 1000:.1f} ({wire[z] / 1000:.1f})" for z in sizes)
        )
        low = r["onemap_largest_z0_6"]
        print(
            f"{layer_id} whole province z0–6, KB: "
            + ", ".join(f"z{z} {size / 1000:.1f}" for z, size in low.items())
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/onemap-tiles-bench"))
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--tipg", type=Path, default=Path("/tmp/tipg-venv/bin/uvicorn"))
    parser.add_argument("--urls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--sessions", type=int, default=60, help="map-client sessions")
    parser.add_argument(
        "--cached-only", action="store_true", help="cache hits alone (no TiPg, no uncached)"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir.chmod(0o755)
    url = prepare_database(args.workdir, args.data)
    report: dict[str, Any] = {"overview_build_s": build_overviews(url)}  # built or found
    for layer_id in args.layers.split(","):
        report[layer_id] = bench_layer(url, layer_id, args, args.workdir)
        print(json.dumps({layer_id: report[layer_id]}, indent=1), flush=True)
    (args.workdir / "results.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    (print_hits_table if args.cached_only else print_table)(report)


if __name__ == "__main__":
    main()
