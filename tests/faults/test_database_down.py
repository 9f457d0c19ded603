"""A database that stops and comes back while requests run (issue 16, "Under faults").

The app serves on a real socket from a cluster the test owns; clients keep asking for
pages, single features, uncached and cached tiles while the cluster is stopped for a few
seconds and started again. Every answer must be a 200 or a 503 with ``Retry-After`` and
an OGC problem body, none slower than the 2 s the issue allows (a pool acquire timeout of
1 s, not the 30 s hang it was); cached tiles keep serving; the pool heals by itself.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from layers.embedded import EmbeddedCluster
from tests.faults.conftest import CITIES, served
from tests.helpers.wait import wait_for

FAIL_FAST_S = 2.0  # the bound on any answer while the database is away
ANSWERED = (200, 204)  # 204: an empty vector tile (sea)
CACHED = f"/collections/{CITIES}/tiles/WebMercatorQuad/6/27/51"  # over Guangdong


@dataclass(frozen=True)
class Answer:
    path: str
    status: int  # 0: no answer (a timeout or a broken connection)
    retry_after: str | None
    problem: bool  # an OGC problem document
    seconds: float


def _ask(client: httpx.Client, path: str) -> Answer:
    started = time.monotonic()
    try:
        response = client.get(path)
    except httpx.HTTPError:
        return Answer(path, 0, None, False, time.monotonic() - started)
    problem = response.headers.get("content-type", "").startswith("application/problem+json")
    if problem:
        assert {"code", "description", "status"} <= set(response.json())
    retry = response.headers.get("retry-after")
    return Answer(path, response.status_code, retry, problem, time.monotonic() - started)


def _uncached_tiles() -> itertools.cycle[str]:
    """Level-10 tiles over Guangdong, each asked once (a miss every time)."""
    tiles = (
        f"/collections/{CITIES}/tiles/WebMercatorQuad/10/{row}/{col}"
        for row in range(440, 450)
        for col in range(826, 844)
    )
    return itertools.cycle(tiles)


def _load(base: str, paths: itertools.cycle[str], stop: threading.Event, out: list[Answer]) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            out.append(_ask(client, next(paths)))


def _outage(cluster: EmbeddedCluster, url: str, pause_s: float) -> None:
    """Stop the cluster for ``pause_s`` (at least until /readyz sees it), start it again."""
    cluster.stop()
    down_at = time.monotonic()
    if pause_s:
        wait_for(
            lambda: httpx.get(url + "/readyz", timeout=5).status_code == 503,
            "/readyz never noticed the stopped database",
        )
    time.sleep(max(0.0, pause_s - (time.monotonic() - down_at)))
    cluster.start()
    wait_for(
        lambda: httpx.get(url + "/readyz", timeout=5).status_code == 200,
        "/readyz never said ready again",
        timeout=30,
    )


def test_requests_fail_fast_while_the_database_is_down_and_heal(
    own_cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    with served(own_cluster.dsn, tmp_path) as url:
        assert httpx.get(url + CACHED).status_code == 200  # produced, now cached
        mixes = [
            itertools.cycle([f"/collections/{CITIES}/items?limit=5&offset={n}" for n in range(9)]),
            itertools.cycle([f"/collections/{CITIES}/items/{fid}" for fid in range(1, 9)]),
            _uncached_tiles(),
            itertools.cycle([f"/search?q=广州&limit={n}" for n in range(1, 5)]),
        ]
        answers: list[list[Answer]] = [[] for _ in mixes]
        cached: list[Answer] = []
        stop = threading.Event()
        threads = [
            threading.Thread(target=_load, args=(url, mix, stop, out))
            for mix, out in zip(mixes, answers, strict=True)
        ]
        threads.append(
            threading.Thread(target=_load, args=(url, itertools.cycle([CACHED]), stop, cached))
        )
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)
            for pause_s in (4.0, 0.0):  # stopped for a while, then a restart at once
                _outage(own_cluster, url, pause_s)
                wait_for(  # the pool healed: pages answer again, with no restart of the app
                    lambda: _ask(httpx.Client(base_url=url), next(mixes[0])).status == 200,
                    "pages never answered again after the database came back",
                    timeout=30,
                )
                time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    seen = [answer for out in answers for answer in out]
    wrong = [a for a in seen + cached if a.status not in (*ANSWERED, 503)]
    assert not wrong, f"answers neither 200 nor 503: {wrong[:5]}"
    unavailable = [a for a in seen if a.status == 503]
    assert unavailable, "no request saw the database away"
    assert all(a.retry_after and a.retry_after.isdigit() and a.problem for a in unavailable), [
        a for a in unavailable if not (a.retry_after and a.problem)
    ][:5]
    slow = [a for a in seen + cached if a.seconds > FAIL_FAST_S]
    assert not slow, f"answers slower than {FAIL_FAST_S} s: {slow[:5]}"
    assert cached and all(a.status == 200 for a in cached), "a cached tile was not served"
    for out in answers:  # every kind of request answered 200 again after the restart
        assert out and out[-1].status in ANSWERED, out[-3:]
