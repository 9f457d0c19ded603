"""The CPU cost of one cached-tile answer written at once (``answer_at_once``), in process.

What the HTTP protocol calls for each hot public tile, timed alone (no sockets, no
database): the fast layer's header scan, memory lookup, caller and answer — and, on a
branch that counts hits, its counting. Run it against two checkouts to compare:

    PYTHONPATH=/work/main   .venv/bin/python bench/at_once_micro.py
    PYTHONPATH=/work/wt-x   .venv/bin/python bench/at_once_micro.py

Prints the best of ``ROUNDS`` rounds of ``CALLS`` calls, in ns per call. On a busy machine
count instructions instead (two call counts, the difference per call; bench/README.md):

    CALLS=2000 ROUNDS=1 valgrind --tool=callgrind --callgrind-out-file=a.out python bench/...
    CALLS=12000 ROUNDS=1 valgrind --tool=callgrind --callgrind-out-file=b.out python bench/...
"""

from __future__ import annotations

import gzip
import os
import time
from typing import Any

from layers.settings import ServiceSettings
from ogc.http.policy import ResponsePolicy
from ogc.routers.tiles_fastpath import Hit, TileCacheFastPath
from tiles.cache import NO_STYLE, TileKey

CALLS = int(os.environ.get("CALLS", "200000"))
ROUNDS = int(os.environ.get("ROUNDS", "7"))
PATH = "/collections/gd-counties/tiles/WebMercatorQuad/8/110/208"
HEADERS = [  # what a browser sends for a tile
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"connection", b"keep-alive"),
]


def main() -> None:
    policy = ResponsePolicy.of(ServiceSettings(database_url="postgresql://x@127.0.0.1/x"))
    fast = TileCacheFastPath(_never, policy)
    key = TileKey("gd-counties", 1, "WebMercatorQuad", 8, 110, 208, "mvt", NO_STYLE, "public")
    fast._hot.put(PATH, False, Hit(key, gzip.compress(b"x" * 4000), policy, False))
    scope: dict[str, Any] = {"method": "GET", "path": PATH, "query_string": b"", "headers": HEADERS}
    assert fast.answer_at_once(dict(scope)) is not None
    best = min(_round(fast, scope) for _ in range(ROUNDS))
    print(f"answer_at_once: {best:.0f} ns per call (best of {ROUNDS} x {CALLS})")


def _round(fast: TileCacheFastPath, scope: dict[str, Any]) -> float:
    answer, copy = fast.answer_at_once, scope.copy
    started = time.perf_counter_ns()
    for _ in range(CALLS):
        answer(copy())  # a fresh scope each time, as each request has
    return (time.perf_counter_ns() - started) / CALLS


async def _never(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the bench never hands over")


if __name__ == "__main__":
    main()
