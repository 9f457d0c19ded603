"""CPU per single-feature request through the whole app, in process, C clients at once.

    ONEMAP_RATE_LIMIT_ANONYMOUS=0 .venv/bin/python bench/single_feature_cpu.py DATABASE_URL \\
        /collections/bench-points/items/530771 --requests 8000 --clients 16

The app as ``onemap serve`` builds it (fast layer, gate, observers), called as ASGI by C
coroutines that each send the next request when the last is answered: no sockets but the
database's, so the figure is the app's own CPU (``time.process_time``) per request, which a
loaded machine disturbs far less than a rate. The database URL needs the sample data and
``bench/features_data.py``'s layers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import MutableMapping
from typing import Any

HEADERS = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]


def scope_of(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": list(HEADERS), "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5555), "state": {},
    }  # fmt: skip


async def measure(url: str, path: str, requests: int, clients: int) -> None:
    from layers.settings import ServiceSettings
    from ogc.app import create_app

    app = create_app(ServiceSettings(), url)
    statuses: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    async def client(count: int) -> None:
        for _ in range(count):
            await app(scope_of(path), receive, send)

    async with app.router.lifespan_context(app):
        await asyncio.gather(*(client(50) for _ in range(clients)))  # pools, plans, caches
        statuses.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(requests // clients) for _ in range(clients)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = sum(statuses.values())
    print(
        f"clients {clients}: {1e6 * cpu / done:.0f} µs CPU per request, "
        f"{done / wall:.0f} requests/s, statuses {statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=8000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    os.environ["ONEMAP_LOAD_SAMPLE_DATA"] = "false"
    os.environ.setdefault("ONEMAP_POOL_MIN_SIZE", "16")
    os.environ.setdefault("ONEMAP_POOL_MAX_SIZE", "16")
    asyncio.run(measure(args.url, args.path, args.requests, args.clients))


if __name__ == "__main__":
    main()
