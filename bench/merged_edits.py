"""What an SQL edit of a polygon layer with a merged overview costs (migrations 0026/0027:
the merged rows the edit's boxes touch deleted, the features under them put back as
themselves): the time of a few edits of the bench parcels, each in its own transaction,
rolled back (the data stays as it was; the overview vacuumed before each, as after a
committed edit); an edit that fails is reported with its error.

    .venv/bin/python bench/generate_data.py --points 250000 --polygons 250000
    (ingest bench/data/polygons.gpkg as bench-polygons into DATABASE_URL)
    .venv/bin/python bench/merged_edits.py DATABASE_URL

The Web Mercator overview is built first if it is missing (its time printed); the table is
watched for edits as opening the layer for editing does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.catalog import load_catalog  # noqa: E402
from tiles import mvt, overview  # noqa: E402

LAYER = "bench-polygons"
EDITS = {
    "move one parcel": "UPDATE {t} SET geom = ST_Translate(geom, 0.001, 0.001) WHERE fid = 1000",
    "delete one parcel": "DELETE FROM {t} WHERE fid = 2000",
    "move 100 parcels": "UPDATE {t} SET geom = ST_Translate(geom, 0.001, 0) "
    "WHERE fid BETWEEN 5000 AND 5099",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    args = parser.parse_args()
    with psycopg.connect(args.url, autocommit=True) as conn:
        layer = load_catalog(conn).get(LAYER)

        async def build() -> None:
            async with await psycopg.AsyncConnection.connect(args.url, autocommit=True) as aconn:
                await overview.build_overview(aconn, layer, mvt.MERCATOR)

        started = time.monotonic()
        asyncio.run(build())
        print(f"overview ready in {time.monotonic() - started:.1f}s")
        conn.execute("SELECT onemap.watch_direct_edits(%s)", (layer.table_name,))
        table = sql.Identifier("onemap_data", layer.table_name)
        merged = sql.Identifier("onemap_data", overview.overview_table_name(layer, mvt.MERCATOR))
        for label, edit in EDITS.items():
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(merged))  # the last edit's rows
            conn.execute("BEGIN")
            started = time.monotonic()
            try:
                conn.execute(sql.SQL(edit).format(t=table))
                print(f"{label}: {time.monotonic() - started:.2f}s")
            except psycopg.Error as exc:
                print(f"{label}: fails after {time.monotonic() - started:.2f}s: {exc}")
            conn.execute("ROLLBACK")


if __name__ == "__main__":
    main()
