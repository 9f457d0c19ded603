"""A busy worker: readiness does not queue, heavy requests are shed fast, cheap ones answer,
and a client that hangs up takes its query with it (issue 16, "Under faults").

A query that runs as long as the test wants is one on a table the test holds locked
(``locked``): it waits in PostgreSQL, active in ``pg_stat_activity``, like a slow page.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.deps import state_of
from tests.faults.conftest import locked, served, waiting_queries
from tests.helpers.wait import wait_for

COUNTIES, CITIES = "gd-counties", "gd-cities"
GONE_WITHIN_S = 5.0  # a cancelled query leaves pg_stat_activity well before the 30 s timeout


def test_readyz_stays_ready_and_pages_fail_fast_when_the_pool_is_exhausted(
    settings: ServiceSettings,
) -> None:
    busy = settings.model_copy(update={"pool_min_size": 2, "pool_max_size": 2})
    with TestClient(create_app(busy)) as client:
        pool = state_of(client)  # type: ignore[arg-type]
        assert isinstance(pool.pool, AsyncConnectionPool)
        taken = _every_connection(client, pool.pool)
        try:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text  # busy is not unreachable
            assert client.get("/healthz").status_code == 200
            page = client.get(f"/collections/{COUNTIES}/items?limit=3")
            assert page.status_code == 503 and page.headers["retry-after"].isdigit()
            assert page.headers["content-type"] == "application/problem+json"
            assert "127.0.0.1" not in page.text  # the driver's text stays in the log
        finally:
            for conn in taken:
                client.portal.call(pool.pool.putconn, conn)
        assert client.get(f"/collections/{COUNTIES}/items?limit=3").status_code == 200


def _every_connection(client: TestClient, pool: AsyncConnectionPool) -> list[Any]:
    """Take the pool's connections until none is left (the app's services may hold some)."""
    assert client.portal is not None
    taken = []
    while True:
        try:
            taken.append(client.portal.call(pool.getconn, 0.5))
        except PoolTimeout:
            assert taken, "the pool gave no connection at all"
            return taken


@pytest.fixture()
def one_slot(sample_url: str, tmp_path: Path) -> Iterator[str]:
    """A server that runs one heavy request at a time, with one more waiting 300 ms."""
    with served(sample_url, tmp_path, heavy_limit=1, heavy_queue=1, heavy_wait_ms=300) as url:
        yield url


Seen = list[tuple[int, str | None, float]]  # status, Retry-After, seconds


def _at_once(urls: list[str]) -> Seen:
    """Ask every URL at the same moment, each from its own ready client and thread (a
    client made per call spends longer loading TLS roots than the server takes to shed)."""
    clients = [httpx.Client(timeout=30) for _ in urls]
    start = threading.Barrier(len(urls))
    seen: Seen = []

    def ask(client: httpx.Client, url: str) -> None:
        start.wait()
        began = time.monotonic()
        response = client.get(url)
        elapsed = time.monotonic() - began
        seen.append((response.status_code, response.headers.get("retry-after"), elapsed))

    threads = [threading.Thread(target=ask, args=pair) for pair in zip(clients, urls, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for client in clients:
        client.close()
    return seen


def test_overload_is_shed_fast_while_cheap_requests_answer(one_slot: str, sample_url: str) -> None:
    cached = f"{one_slot}/collections/{CITIES}/tiles/WebMercatorQuad/6/27/51"
    assert httpx.get(cached).status_code == 200  # produced, now cached
    page = httpx.get(f"{one_slot}/collections/{CITIES}/items?limit=1").json()
    feature = f"{one_slot}/collections/{CITIES}/items/{page['features'][0]['id']}"
    with locked(sample_url, COUNTIES):
        holder: list[httpx.Response] = []
        first = threading.Thread(  # takes the one slot and waits on the lock
            target=lambda: holder.append(
                httpx.get(f"{one_slot}/collections/{COUNTIES}/items?limit=2", timeout=30)
            )
        )
        first.start()
        wait_for(lambda: waiting_queries(sample_url, COUNTIES), "the page never reached the lock")
        heavy = [f"{one_slot}/collections/{COUNTIES}/items?limit={n}" for n in range(3, 9)]
        heavy.append(f"{one_slot}/collections/{CITIES}/tiles/WebMercatorQuad/9/222/417")  # a miss
        shed = _at_once(heavy)
        cheap = [httpx.get(url) for url in (cached, f"{one_slot}/healthz", f"{one_slot}/readyz")]
        cheap.append(httpx.get(feature))
    first.join(timeout=30)
    assert [r.status_code for r in cheap] == [200] * 4, [r.text for r in cheap]
    assert len(shed) == 7 and all(status == 503 for status, _, _ in shed), shed
    assert all(retry == "1" for _, retry, _ in shed), shed
    # shed at once, or (the one that found the queue free) after its 300 ms wait
    assert max(seconds for _, _, seconds in shed) < 2.0, shed
    assert holder and holder[0].status_code == 200  # the admitted page answered after the lock


def _hang_up_during(url: str, path: str, sample_url: str, layer: str) -> None:
    """Ask for ``path`` on a raw socket, wait until its query waits in PostgreSQL, close."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        wait_for(lambda: waiting_queries(sample_url, layer), "the query never reached the lock")


@pytest.mark.parametrize(
    "path",
    [
        f"/collections/{COUNTIES}/items?limit=50",
        f"/collections/{COUNTIES}/tiles/WebMercatorQuad/8/111/208",
    ],
    ids=["page", "uncached tile"],
)
def test_a_client_that_hangs_up_cancels_its_query(
    sample_url: str, tmp_path: Path, path: str
) -> None:
    with served(sample_url, tmp_path) as url, locked(sample_url, COUNTIES):
        _hang_up_during(url, path, sample_url, COUNTIES)
        wait_for(
            lambda: not waiting_queries(sample_url, COUNTIES),
            "the query went on after its client had gone",
            timeout=GONE_WITHIN_S,
        )
        # the worker is whole: its slot and connection are back, it answers and is ready
        assert httpx.get(f"{url}/collections/{CITIES}/items?limit=1").status_code == 200
        assert httpx.get(f"{url}/readyz").status_code == 200
