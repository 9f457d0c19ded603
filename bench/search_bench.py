"""Place-name search benchmark: ``GET /search`` over the sample layers plus 1,000,000 names.

    .venv/bin/python -m bench.search_bench $URL [--rows 1000000] [--queries 40] [--keep]
        [--repeat 3]

``$URL`` is a migrated OneMap database (the sample layers are published when missing).
The script generates ``bench-names`` in SQL — Chinese place and facility names in the style
of 天河石牌第三小学, 番禺人民医院, 白云新华路17号 — at points inside the 124 counties (in
proportion to their area), registers it through ``layers.catalog_write``, builds its search
table as a publish does (timed), starts OneMap (one worker, as ``onemap serve``) and sends
``--queries`` requests of each kind, one at a time, after one warm-up pass: latency, not
throughput. Reports p50/p95 per kind and overall, of each query's first sending and of the
best of ``--repeat`` sendings. Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from ingest.sample import load_sample_data
from layers.catalog import FieldInfo, load_catalog
from layers.catalog_write import LayerMeta, VersionRecord, make_current, reserve_version
from layers.platform import admin_layers
from layers.search.fields import adcode_field
from layers.search.index import build_search_table


def words(*parts: str) -> list[str]:
    return " ".join(parts).split()


ROOT = Path(__file__).resolve().parent.parent
LAYER, TABLE = "bench-names", "bench_names_v1"
FIELDS = [FieldInfo("name", "string", "名称", "名称")]
PLACES = words(
    "人民 中山 解放 新华 东风 建设 文化 花园 滨江 龙津 沙河 石牌 五山 员村 车陂 棠下 珠江",
    "江南 海印 白鹤 南岗 新塘 石楼 大石 市桥 钟村 沙湾 罗冲 龙洞 凤凰 金沙 翠竹 桂花 荔枝",
    "东湖 西湖 北京 上海 青年 光明 和平 友谊 长安 永福 同和 龙归 太和 竹料 九佛 萝岗 科学",
    "黄村 天源 华景 骏景 东圃 黄埔 鱼珠 文冲 南沙 万顷 横沥 黄阁 榄核 大岗 东涌 沙头",
)
KINDS = words(
    "小学 中学 幼儿园 医院 卫生院 社区卫生服务中心 派出所 消防站 公园 广场 大厦 花园 市场",
    "超市 银行 加油站 酒店 图书馆 体育馆 地铁站 公交站 村委会 居委会 社区 小区 商场 停车场",
    "文化站 养老院 邮局",
)
ORDINALS = words("第一 第二 第三 第四 第五 第六 第七 第八 第九")
GENERATE = """
DROP TABLE IF EXISTS onemap_data.{table} CASCADE;
CREATE TABLE onemap_data.{table} (
    fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'),
    name text, geom geometry(Point, 4490));
INSERT INTO onemap_data.{table} (name, geom)
SELECT CASE d.path[1] %% 4
         WHEN 0 THEN c.short || p.place || k.kind
         WHEN 1 THEN c.short || p.place || o.ordinal || k.kind
         WHEN 2 THEN p.place || '路' || (d.path[1] %% 300 + 1) || '号' || k.kind
         ELSE c.name || p.place || k.kind END,
       d.geom
FROM (SELECT name, regexp_replace(name, '(区|县|市|自治县)$', '') AS short, geom,
             greatest(1, round({rows} * ST_Area(geom) / sum(ST_Area(geom)) OVER ()))::int AS n
      FROM onemap_data.{counties}) AS c,
     LATERAL ST_Dump(ST_GeneratePoints(c.geom, c.n, 42)) AS d,
     LATERAL (SELECT (%(places)s::text[])[1 + (d.path[1] * 7 + length(c.name)) %% {places}]
              AS place) AS p,
     LATERAL (SELECT (%(kinds)s::text[])[1 + (d.path[1] * 13 / 5) %% {kinds}] AS kind) AS k,
     LATERAL (SELECT (%(ordinals)s::text[])[1 + d.path[1] %% 9] AS ordinal) AS o;
ANALYZE onemap_data.{table}
"""


def generate(url: str, rows: int) -> None:
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        counties = load_catalog(conn).get(admin_layers().county).table_name
        for statement in (
            GENERATE.format(
                table=TABLE,
                counties=f'"{counties}"',
                rows=rows,
                places=len(PLACES),
                kinds=len(KINDS),
            )
            .strip()
            .split(";\n")
        ):
            conn.execute(
                statement.encode(), {"places": PLACES, "kinds": KINDS, "ordinals": ORDINALS}
            )
        with conn.transaction():
            meta = LayerMeta(LAYER, "基准地名", "Benchmark names", "province", "440000")
            number, exists = reserve_version(conn, LAYER, expect_new=None)
            row = conn.execute(
                f"SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)], n FROM "
                f"(SELECT ST_Extent(geom) AS e, count(*) AS n FROM onemap_data.{TABLE}) AS s"
            ).fetchone()
            assert row is not None
            record = VersionRecord(
                layer_id=LAYER,
                version=number,
                table_name=TABLE,
                fields=FIELDS,
                geometry_type="Point",
                extent=row[0],
                feature_count=int(row[1]),
                lineage={"who": "bench/search_bench.py"},
            )
            make_current(conn, meta, record, layer_exists=exists)
    print(f"{LAYER}: {row[1]:,} names generated in {time.monotonic() - started:.0f} s")


def build_index(url: str) -> None:
    """The search table a publish builds (the server would build it in the background)."""
    with psycopg.connect(url) as conn:
        layer = load_catalog(conn).get(LAYER)

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await build_search_table(conn, layer, "name", adcode_field(layer, admin_layers()))

    started = time.monotonic()
    asyncio.run(run())
    print(f"search table of {LAYER}: built in {time.monotonic() - started:.1f} s")


def queries(url: str, per_kind: int, seed: int = 7) -> dict[str, list[dict[str, str]]]:
    """Each kind's requests, drawn from the data (names, their parts, admin units)."""
    rng = random.Random(seed)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(0.42)")
        names = [
            r[0]
            for r in conn.execute(
                f"SELECT name FROM onemap_data.{TABLE} ORDER BY random() LIMIT %s", (per_kind * 4,)
            )
        ]
        catalog = load_catalog(conn)
        counties = catalog.get(admin_layers().county).table_name
        units = conn.execute(f'SELECT name, adcode FROM onemap_data."{counties}"').fetchall()
        city_box = conn.execute(
            "SELECT concat_ws(',', ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)) FROM "
            f'(SELECT ST_Extent(geom) AS e FROM onemap_data."{counties}" '
            "WHERE adcode LIKE '4401%%') AS x"
        ).fetchone()
    assert city_box is not None
    pick: Callable[[list[str]], str] = rng.choice

    def each(make: Callable[[], dict[str, str]]) -> list[dict[str, str]]:
        return [make() for _ in range(per_kind)]

    def typo(name: str) -> str:
        i = rng.randrange(len(name))
        return name[:i] + "甲" + name[i + 1 :]

    unit_names = [u[0] for u in units]
    codes = [u[1] for u in units]
    return {
        "exact name": each(lambda: {"q": pick(names)}),
        "admin name (天河区)": each(lambda: {"q": pick(unit_names)}),
        "1 character": each(lambda: {"q": pick(names)[0]}),
        "2-character prefix": each(lambda: {"q": pick(names)[:2]}),
        "4-character prefix": each(lambda: {"q": pick(names)[:4]}),
        "3-character substring": each(lambda: (lambda n: {"q": n[2:5]})(pick(names))),
        "similar (one typo)": each(lambda: {"q": typo(pick(names))}),
        "adcode 440106": each(lambda: {"q": pick(codes)}),
        "adcode 156440106": each(lambda: {"q": "156" + pick(codes)}),
        "adcode prefix 4401": each(lambda: {"q": pick(codes)[:4]}),
        "prefix + bbox (Guangzhou)": each(lambda: {"q": pick(names)[:2], "bbox": city_box[0]}),
        "prefix + adcode=": each(lambda: {"q": pick(names)[:2], "adcode": pick(codes)}),
        "no match": each(lambda: {"q": "".join(rng.choice("乾坤震巽坎离艮兑") for _ in range(4))}),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_onemap(url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "ONEMAP_DATABASE_URL": url,
        "ONEMAP_LOAD_SAMPLE_DATA": "false",
        "ONEMAP_LOG_LEVEL": "warning",
        "ONEMAP_HOST": "127.0.0.1",
        "ONEMAP_PORT": str(port),
        "ONEMAP_WORKERS": "1",
    }
    code = (
        "import sys; from layers.settings import ServiceSettings; "
        "from ogc.server.serve import serve_http; serve_http(ServiceSettings(), sys.argv[1])"
    )
    log = open("/tmp/search-bench-onemap.log", "wb")  # noqa: SIM115 (lives with the process)
    process = subprocess.Popen(
        [sys.executable, "-c", code, url], env=env, stdout=log, stderr=log, cwd=ROOT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("OneMap did not start; see /tmp/search-bench-onemap.log")


def wait_until_indexed(client: httpx.Client, url: str) -> None:
    """The server builds the sample layers' search tables at start-up; measure after."""
    with psycopg.connect(url) as conn:
        wanted = {layer.id for layer in load_catalog(conn) if layer.kind == "vector"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            built = {r[0] for r in conn.execute("SELECT layer_id FROM onemap.search_indexes")}
        if LAYER in built and len(built & wanted) >= 8:
            time.sleep(1.0)  # the server marks them ready as each build returns
            return
        time.sleep(0.5)
    raise RuntimeError(f"search tables not built: {sorted(wanted - built)}")


def measure(client: httpx.Client, kinds: dict[str, list[dict[str, str]]], repeat: int) -> None:
    """Per kind: each query's latency as sent once, and the best of ``repeat`` sendings
    (on a shared, loaded machine the best is closer to what the service itself costs)."""
    for requests in kinds.values():  # warm-up: connections, plans, caches
        for params in requests[:3]:
            client.get("/search", params=params)
    once_all: list[float] = []
    best_all: list[float] = []
    print(f"| kind | queries | p50 ms | p95 ms | max ms | best-of-{repeat} p50 | p95 | hits |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, requests in kinds.items():
        once, best, found = [], [], 0
        for params in requests:
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                answer = client.get("/search", params=params)
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise RuntimeError(f"{kind} {params}: {answer.status_code} {answer.text[:200]}")
            once.append(times[0])
            best.append(min(times))
            found += answer.json()["numberReturned"]
        once_all += once
        best_all += best
        print(f"| {kind} | {len(once)} | {_row(once)} | {_row(best, full=False)} | "
              f"{found / len(once):.1f} |")  # fmt: skip
    print(f"| **all** | {len(once_all)} | {_row(once_all)} | {_row(best_all, full=False)} | |")


def _row(values: list[float], full: bool = True) -> str:
    cells = [statistics.median(values), _p95(values)] + ([max(values)] if full else [])
    return " | ".join(f"{v:.1f}" for v in cells)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40, help="requests per kind")
    parser.add_argument("--keep", action="store_true", help="reuse bench-names if present")
    parser.add_argument("--repeat", type=int, default=3, help="sendings of each query")
    args = parser.parse_args()
    load_sample_data(args.url)
    with psycopg.connect(args.url) as conn:
        present = LAYER in load_catalog(conn).layers
    if not (args.keep and present):
        generate(args.url, int(args.rows * 1.001))  # per-county rounding loses a few
        build_index(args.url)
    kinds = queries(args.url, args.queries)
    port = free_port()
    server = start_onemap(args.url, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until_indexed(client, args.url)
            measure(client, kinds, args.repeat)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
