"""Edit purge benchmark: edit one feature of a 1,000,000-point layer with a warm tile cache.

    ONEMAP_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/edit_purge.py [--points 1000000]

Makes a database of its own on that server (dropped at the end), loads the points (made
by PostGIS over Guangdong's mainland box) straight into a version table, publishes it as an
editable layer and builds its Web Mercator overview. The app runs in this process (its
real lifespan, pool, listener and tile cache); tiles around the two edited features
(z0–16 on Web Mercator, 3×3 tiles of vector and map tiles; z6–16 on three more grids) are
requested first, so the cache is warm. Then one feature is moved
through the API (PUT) and once more by a database client (SQL UPDATE), and the report
gives: cached tiles before, tiles purged, the purge's work (from the purge's log), the
writer's answer time, whether the very next tile request shows the edit, and for the SQL
edit the time until a request does (it learns by NOTIFY). Runs in about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from layers.catalog import FieldInfo, load_catalog  # noqa: E402
from layers.migrate import migrate  # noqa: E402
from layers.settings import ServiceSettings  # noqa: E402
from ogc.app import create_app  # noqa: E402
from tests.helpers.catalog import fixture_meta, register_table  # noqa: E402
from tests.tiles.helpers import decode  # noqa: E402
from tiles import grids, mvt, overview  # noqa: E402

LAYER, TABLE = "bench-edit-points", "bench_edit_points_v1"
TOKEN = "bench-" + uuid.uuid4().hex
GRIDS = ("WebMercatorQuad", "WorldCRS84Quad", "CGCS2000Quad", "TiandituCGCS2000")
LEVELS = range(0, 17)
FIELDS = [FieldInfo("name", "string", "name"), FieldInfo("category", "string", "category")]


class PurgeLog(logging.Handler):
    """The purge's own report lines ("N cached tiles purged in X ms")."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[int, float, float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        _layer, _version, count, ms, files_ms, cpu_ms = record.args  # type: ignore[misc]
        self.lines.append((int(count), float(ms), float(files_ms), float(cpu_ms)))


def summed(lines: list[tuple[int, float, float, float]]) -> str:
    """What one edit's purges did: tiles, all the work, the file deletions (wall, CPU)."""
    tiles, work, files, cpu = (sum(line[i] for line in lines) for i in range(4))
    return f"{tiles:.0f} tiles in {work:.1f} ms ({files:.1f} ms deleting files, {cpu:.1f} ms CPU)"


def make_database(server: str) -> tuple[str, str]:
    name = f"onemap_bench_edit_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, psycopg.conninfo.make_conninfo(server, dbname=name)


def load_points(url: str, count: int) -> None:
    """``count`` points spread over Guangdong's mainland box, made by PostGIS itself (a
    million in seconds; ``bench/generate_data.py``'s county-exact points take minutes)."""
    with psycopg.connect(url) as conn:
        conn.execute(
            f"CREATE TABLE onemap_data.{TABLE} (fid bigint PRIMARY KEY DEFAULT "
            "nextval('onemap.feature_id_seq'), name text, category text, "
            "geom geometry(Point, 4490))"
        )
        conn.execute("SELECT setseed(0.15)")
        conn.execute(
            f"INSERT INTO onemap_data.{TABLE} (name, category, geom) "
            "SELECT '点' || n, (ARRAY['学校', '医院', '水源地', '监测站'])[1 + n %% 4], "
            "ST_SetSRID(ST_Point(110.5 + random() * 6, 21.5 + random() * 3.5), 4490) "
            "FROM generate_series(1, %s) AS n",
            [count],
        )
        conn.execute(f"CREATE INDEX ON onemap_data.{TABLE} USING gist (geom)")
        conn.execute(f"ANALYZE onemap_data.{TABLE}")
        register_table(conn, fixture_meta(LAYER, "点", "points"), TABLE, FIELDS, "Point")
        conn.execute("UPDATE onemap.layers SET editable = true WHERE id = %s", [LAYER])


async def build_overview(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        with psycopg.connect(url) as sync:
            layer = load_catalog(sync).get(LAYER)
        await overview.build_overview(conn, layer, mvt.MERCATOR)


def tile_paths(lon: float, lat: float) -> list[str]:
    paths = []
    for tms in GRIDS:
        for z in LEVELS:
            if z not in grids.level_range(tms) or (tms != "WebMercatorQuad" and z < 6):
                continue  # (their low levels wait for the geographic overview: slow)
            tile = grids.get_tms(tms).tile(lon, lat, z)
            cols, rows = grids.matrix_shape(tms, z)
            ring = 1 if tms == "WebMercatorQuad" else 0  # 3×3 tiles, or the one
            for row in range(max(tile.y - ring, 0), min(tile.y + ring, rows - 1) + 1):
                for col in range(max(tile.x - ring, 0), min(tile.x + ring, cols - 1) + 1):
                    paths.append(f"/collections/{LAYER}/tiles/{tms}/{z}/{row}/{col}")
                    if tms == "WebMercatorQuad":
                        paths.append(f"/collections/{LAYER}/map/tiles/{tms}/{z}/{row}/{col}")
    return paths


def shows(client: TestClient, lon: float, lat: float, fid: int, name: str) -> bool:
    tile = grids.get_tms("WebMercatorQuad").tile(lon, lat, 16)
    answer = client.get(f"/collections/{LAYER}/tiles/WebMercatorQuad/16/{tile.y}/{tile.x}")
    if answer.status_code != 200:
        return False
    features = decode(answer.content).get(LAYER, {"features": []})["features"]
    return any(f.get("id") == fid and f["properties"].get("name") == name for f in features)


def cached_count(root: Path) -> int:
    return sum(1 for _ in root.rglob("*.*") if not _.name.startswith(".tmp"))


def run(args: argparse.Namespace) -> dict[str, Any]:
    server = os.environ["ONEMAP_TEST_DATABASE_URL"]
    name, url = make_database(server)
    report: dict[str, Any] = {"points": args.points}
    purges = PurgeLog()
    logging.getLogger("onemap.tiles.purge").addHandler(purges)
    logging.getLogger("onemap.tiles.purge").setLevel(logging.INFO)
    try:
        started = time.monotonic()
        migrate(url)
        load_points(url, args.points)
        report["load_s"] = round(time.monotonic() - started, 1)
        asyncio.run(build_overview(url))
        report["load_and_overview_s"] = round(time.monotonic() - started, 1)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                f"SELECT fid, ST_X(geom), ST_Y(geom) FROM onemap_data.{TABLE} "
                "WHERE ST_DWithin(geom, ST_SetSRID(ST_Point(113.3, 23.1), 4490), 0.05) LIMIT 2"
            ).fetchall()
        (fid, lon, lat), (other, olon, olat) = row
        cache = Path(tempfile.mkdtemp(prefix="onemap-bench-edit-"))
        settings = ServiceSettings(
            database_url=url, load_sample_data=False, publisher_token=TOKEN, tile_cache_dir=cache
        )
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with TestClient(create_app(settings)) as client:
            warm = tile_paths(lon, lat) + tile_paths(olon, olat)
            started = time.monotonic()
            for path in warm:
                assert client.get(path).status_code in (200, 204, 404), path  # 404: outside limits
            report["warm_up_s"] = round(time.monotonic() - started, 1)
            report["tiles_cached_before"] = cached_count(cache)
            item = f"/collections/{LAYER}/items/{fid}"
            etag = client.get(item).headers["ETag"]
            body = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon + 0.0002, lat + 0.0002]},
                "properties": {"name": "moved by the API", "category": "学校"},
            }
            sent = time.perf_counter()
            answer = client.put(
                item,
                json=body,
                headers=auth | {"If-Match": etag, "Content-Type": "application/geo+json"},
            )
            report["api_put_ms"] = round((time.perf_counter() - sent) * 1000, 1)
            assert answer.status_code == 204, answer.text
            report["api_next_request_shows_edit"] = shows(
                client, lon + 0.0002, lat + 0.0002, fid, "moved by the API"
            )
            report["api_purge"] = summed(purges.lines)
            report["tiles_cached_after_purge"] = cached_count(cache)
            purges.lines.clear()
            sent = time.perf_counter()
            with psycopg.connect(url) as conn:
                conn.execute(
                    f"UPDATE onemap_data.{TABLE} SET name = 'moved in psql', "
                    "geom = ST_Translate(geom, 0.0002, 0.0002) WHERE fid = %s",
                    [other],
                )
            polls = 0
            while not shows(client, olon + 0.0002, olat + 0.0002, other, "moved in psql"):
                polls += 1
                time.sleep(0.002)
            report["sql_edit_visible_ms"] = round((time.perf_counter() - sent) * 1000, 1)
            report["sql_polls_before_visible"] = polls
            report["sql_purge"] = summed(purges.lines)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    report = run(parser.parse_args())
    for key, value in report.items():
        print(f"{key:30} {value}")


if __name__ == "__main__":
    main()
