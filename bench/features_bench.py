"""OGC API - Features benchmark: OneMap vs TiPg vs pygeoapi vs the PostGIS floor.

    .venv/bin/python bench/features_data.py  $URL      # once: 1M points, 200k polygons
    .venv/bin/python bench/features_bench.py $URL [--duration 10] [--workers 2]

Every system serves the same tables on the same PostGIS; load comes from ``wrk``
at 16 connections. The floor is OneMap's own SQL for the same response (page
statement, plus its count statement where OneMap runs one), rendered with
literals and run by ``pgbench`` at the same concurrency.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import psycopg

from bench.features_peers import SERVERS, Server, start_onemap, start_pygeoapi, start_tipg
from layers.catalog import Catalog, load_catalog
from layers.features import Binder
from layers.features.page import count_sql
from layers.features.plan import FeaturePlan
from layers.settings import ServiceSettings
from ogc.common.items_request import feature_query, items_query

CONCURRENCY = 16
TABLES = {"bench-points": "bench_points_v1", "bench-polygons": "bench_polygons_v1"}
CQL2 = "kind = '学校' AND value > 500"


@dataclass
class Workload:
    name: str
    collection: str
    onemap: dict[str, str]  # OneMap query parameters
    peers: dict[str, str]  # TiPg / pygeoapi query parameters
    feature_id: int | None = None


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    bytes: int
    errors: int


def workloads(conn: psycopg.Connection) -> list[Workload]:
    city = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
        "FROM onemap_data.\"gd-cities\" WHERE adcode = '440100') x"
    ).fetchone()
    assert city is not None
    bbox = ",".join(f"{v:.4f}" for v in city)
    deep = conn.execute(
        "SELECT fid FROM onemap_data.bench_points_v1 ORDER BY fid OFFSET 9999 LIMIT 1"
    )
    after = str(deep.fetchone()[0])  # type: ignore[index]
    middle = conn.execute(
        "SELECT fid FROM onemap_data.bench_points_v1 ORDER BY fid OFFSET 500000 LIMIT 1"
    )
    fid = int(middle.fetchone()[0])  # type: ignore[index]
    cql = {"filter": CQL2, "filter-lang": "cql2-text", "limit": "100"}
    return [
        Workload("first page (limit=100)", "bench-points", {"limit": "100"}, {"limit": "100"}),
        Workload("city bbox (limit=100)", "bench-points", {"limit": "100", "bbox": bbox},
                 {"limit": "100", "bbox": bbox}),
        Workload("deep page (row 10,000)", "bench-points", {"limit": "100", "after": after},
                 {"limit": "100", "offset": "10000"}),
        Workload("single feature", "bench-points", {}, {}, feature_id=fid),
        Workload("1,000 polygons in city bbox", "bench-polygons",
                 {"limit": "1000", "bbox": bbox}, {"limit": "1000", "bbox": bbox}),
        Workload("CQL2 filter (limit=100)", "bench-points", cql, cql),
    ]  # fmt: skip


def selected(work: Workload, patterns: list[str]) -> bool:
    return not patterns or any(p in work.name for p in patterns)


def onemap_name(server: str) -> str:
    return f"onemap ({server})"


def onemap_starter(url: str, workers: int, server: str) -> Callable[[], Server]:
    port = 18204
    return lambda: start_onemap(url, port, workers, server)


def url_for(server: Server, work: Workload) -> str:
    collection = work.collection
    if server.name == "tipg":
        collection = f"onemap_data.{TABLES[collection]}"
    path = f"/collections/{collection}/items"
    if work.feature_id is not None:
        path += f"/{work.feature_id}"
    params = dict(work.onemap if server.name.startswith("onemap") else work.peers)
    if server.name == "pygeoapi":
        params["f"] = "json"
        params.pop("filter-lang", None)  # pygeoapi 0.21 calls it cql-text and defaults to it
    return server.base + path + ("?" + urlencode(params, quote_via=quote) if params else "")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, duration: int) -> Result:
    body = httpx.get(url, timeout=120)
    if body.status_code != 200:
        return Result(0, 0, 0, len(body.content), -1)
    warm = ["wrk", "-t2", f"-c{CONCURRENCY}", "-d2s", url]  # fill pools and plan caches
    subprocess.run(warm, capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{duration}s", "--latency", "--timeout", "60s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    latency = dict(re.findall(r"(50|99)\.?0*%\s+([\d.]+(?:us|ms|s))", out))
    if "50" not in latency or "99" not in latency:
        print(out)
        return Result(0, 0, 0, len(body.content), -1)
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Result(rps, _ms(latency["50"]), _ms(latency["99"]), len(body.content), errors)


def floor_sql(url: str, catalog: Catalog, work: Workload) -> str:
    """OneMap's statements for this request, with literals, as one pgbench transaction."""
    layer = catalog.get(work.collection)
    plan = FeaturePlan.of(layer)
    settings = ServiceSettings(database_url=url, max_limit=10000)
    with psycopg.connect(url) as conn:
        if work.feature_id is not None:
            query = feature_query(layer, {}, settings.served_crs)
            cursor = psycopg.ClientCursor(conn)
            return cursor.mogrify(plan.feature_sql(query), [work.feature_id]) + ";\n"
        query = items_query(plan, work.onemap, settings, catalog)
        page = plan.geojson_page_sql(query, Binder(literal=True)).as_string(conn)
    # OneMap keeps counts in the layer version's plan, so a warm request runs the page only;
    # the cold count is reported separately (cold_count_ms).
    return page.replace("\n", " ") + ";\n"


def cold_count_ms(url: str, catalog: Catalog, work: Workload) -> float:
    """What the first request of a filtered selection pays for its bounded count."""
    if work.feature_id is not None:
        return 0.0
    layer = catalog.get(work.collection)
    settings = ServiceSettings(database_url=url, max_limit=10000)
    query = items_query(FeaturePlan.of(layer), work.onemap, settings, catalog)
    if not query.filtered:
        return 0.0
    with psycopg.connect(url) as conn:
        statement = count_sql(layer, query, Binder(literal=True), settings.exact_count_max)
        started = time.perf_counter()
        conn.execute(statement).fetchone()
        return 1000 * (time.perf_counter() - started)


def run_pgbench(url: str, script: str, duration: int, bytes_: int) -> Result:
    params = psycopg.conninfo.conninfo_to_dict(url)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "floor.sql"
        path.write_text(script)
        out = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", f"-c{CONCURRENCY}", "-j2", f"-T{duration}",
             "-l", "--log-prefix", f"{tmp}/log", "-f", str(path),
             "-h", str(params.get("host", "127.0.0.1")), "-p", str(params.get("port", 5432)),
             "-U", str(params.get("user")), str(params.get("dbname"))],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        latencies = sorted(
            int(line.split()[2]) / 1000
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
        )
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return Result(tps, p50, p99, bytes_, 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=["onemap", "tipg", "pygeoapi", "floor"])
    parser.add_argument(
        "--server",
        nargs="*",
        choices=SERVERS,
        default=["uvicorn"],
        help="HTTP server(s) OneMap runs under (onemap serve's default is uvicorn); "
        "TiPg and pygeoapi run under uvicorn as they ship",
    )
    parser.add_argument(
        "--workloads", nargs="*", default=[], help="only workloads whose name contains one of these"
    )
    args = parser.parse_args()
    with psycopg.connect(args.url) as conn:
        catalog = load_catalog(conn)
        works = [w for w in workloads(conn) if selected(w, args.workloads)]
    starters = {
        **{
            onemap_name(server): onemap_starter(args.url, args.workers, server)
            for server in args.server
        },
        "tipg": lambda: start_tipg(args.url, 18202, args.workers, list(TABLES.values())),
        "pygeoapi": lambda: start_pygeoapi(args.url, 18203, args.workers, TABLES),
    }
    results: dict[str, dict[str, Result]] = {w.name: {} for w in works}
    systems = [s for n in args.only for s in starters if s == n or s.startswith(f"{n} (")]
    for name in systems:
        server = starters[name]()  # one server at a time, so they do not share the CPUs
        try:
            for work in works:
                results[work.name][name] = run_wrk(url_for(server, work), args.duration)
                print(name, work.name, results[work.name][name], flush=True)
        finally:
            server.stop()
    if "floor" in args.only:
        for work in works:
            onemap = [r for s, r in results[work.name].items() if s.startswith("onemap")]
            bytes_ = onemap[0].bytes if onemap else 0
            script = floor_sql(args.url, catalog, work)
            results[work.name]["floor"] = run_pgbench(args.url, script, args.duration, bytes_)
            print("floor", work.name, results[work.name]["floor"], flush=True)
            print(f"cold count {work.name}: {cold_count_ms(args.url, catalog, work):.0f} ms")
    print(table(results))
    Path("/tmp/features-bench-results.json").write_text(
        json.dumps({w: {s: r.__dict__ for s, r in rs.items()} for w, rs in results.items()})
    )


def table(results: dict[str, dict[str, Result]]) -> str:
    lines = [
        "| workload | system | req/s | p50 ms | p99 ms | bytes | % of floor | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for work, by_system in results.items():
        floor = by_system.get("floor")
        for system, r in by_system.items():
            share = f"{100 * r.rps / floor.rps:.0f}%" if floor and floor.rps else ""
            errors = "failed" if r.errors < 0 else str(r.errors)
            lines.append(
                f"| {work} | {system} | {r.rps:.1f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                f"{r.bytes:,} | {share} | {errors} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
