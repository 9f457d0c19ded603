"""Schemathesis against OneMap: every operation of /api, every check, every phase (issue 16).

    flock /tmp/onemap-bench.lock .venv/bin/python bench/fuzz.py [SERVER_URL] \\
        [--max-examples 100] [--seed 1] [--max-time 600] [--workers 2] [--strict]

SERVER_URL: a PostgreSQL server on which a fresh database is created and dropped afterwards
(default ONEMAP_TEST_DATABASE_URL); the sample layers are published into it and a scratch
layer the writes go to. OneMap serves it on a free 127.0.0.1 port as `onemap serve` does,
with the publisher token (writes and the admin API included). Prints the distinct failures
by check; exit status 1 when there is any. `make test` runs the same at a bounded size
(tests/test_fuzz_api.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.sample import load_sample_data  # noqa: E402
from layers.migrate import migrate  # noqa: E402
from layers.settings import ServiceSettings  # noqa: E402
from ogc.app import create_app  # noqa: E402
from tests.helpers.fuzz import fuzz, scratch_collection  # noqa: E402
from tests.helpers.live import live_server  # noqa: E402

TOKEN = "bench-fuzz-publisher"


def main() -> int:
    args = _arguments()
    name = f"onemap_fuzz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(**(conninfo_to_dict(args.server) | {"dbname": name}))  # type: ignore[arg-type]
    try:
        migrate(url)
        load_sample_data(url)
        settings = ServiceSettings(database_url=url, load_sample_data=False,
                                   publisher_token=TOKEN, max_limit=1000)  # fmt: skip
        with live_server(create_app(settings)) as live:
            scratch_collection(live.url, TOKEN, "fuzz-scratch")
            started = time.monotonic()
            outcome = fuzz(live.url, token=TOKEN, scratch="fuzz-scratch",
                           max_examples=args.max_examples, seed=args.seed,
                           max_time=args.max_time, workers=args.workers,
                           strict=args.strict)  # fmt: skip
            print(f"{time.monotonic() - started:.0f} s; " + outcome.report())
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 1 if outcome.failures or outcome.broken else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", nargs="?", default=os.environ.get("ONEMAP_TEST_DATABASE_URL"))
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-time", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="accept no 400 for schema-valid data, even where a grammar rules",
    )
    args = parser.parse_args()
    if not args.server:
        parser.error("name a PostgreSQL server (or set ONEMAP_TEST_DATABASE_URL)")
    return args


if __name__ == "__main__":
    sys.exit(main())
