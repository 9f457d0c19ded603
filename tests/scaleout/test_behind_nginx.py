"""Two `onemap serve` replicas behind a real nginx (docker/nginx/nginx.conf on loopback),
one database and one tile cache directory between them (issue 16, "Scale-out").

Catalog changes reach every replica by LISTEN/NOTIFY; nginx spreads requests and, when a
replica dies (SIGKILL), passes the requests it was sent to the other (proxy_next_upstream).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import PUBLISHER, PUBLISHER_TOKEN, world_readable_tempdir
from tests.helpers.balanced import Balanced, balanced
from tests.helpers.wait import wait_for, wait_for_layer, wait_for_layer_gone

CITIES = "gd-cities"
TILE = f"/collections/{CITIES}/tiles/WebMercatorQuad/6/27/51"
WMTS_TILE = f"/wmts/1.0.0/{CITIES}/default/WebMercatorQuad/6/27/51.png"
UPSTREAM = re.compile(
    r'"(\w+) (\S+) [^"]*" (\d{3}) .* upstream=([^ ]+(?:, [^ ]+)*) upstream_status'
)
LOAD_CLIENTS, LOAD_SECONDS, KILL_AFTER_S = 4, 6.0, 2.0


def _pair(sample_url: str) -> Iterator[Balanced]:
    workdir = world_readable_tempdir("onemap-scaleout-")
    try:
        with balanced(sample_url, workdir, settings={"publisher_token": PUBLISHER_TOKEN}) as pair:
            yield pair
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


pytestmark = pytest.mark.slow  # servers of their own, started per module or test


@pytest.fixture(scope="module")
def pair(sample_url: str) -> Iterator[Balanced]:
    """Shared by the tests that leave both replicas running (each makes its own layer)."""
    yield from _pair(sample_url)


@pytest.fixture()
def doomed_pair(sample_url: str) -> Iterator[Balanced]:
    """A pair of the killing test's own: one of its replicas does not survive it."""
    yield from _pair(sample_url)


def upstreams(log: Path) -> list[tuple[str, str, int, list[str]]]:
    """Method, path, status and the replicas tried (in order) of each request nginx logged."""
    lines = log.read_text().splitlines() if log.exists() else []
    found = [UPSTREAM.search(line) for line in lines]
    return [(m[1], m[2], int(m[3]), m[4].split(", ")) for m in found if m]


def test_publish_on_one_replica_shows_on_the_other_and_through_nginx(pair: Balanced) -> None:
    first, second = (httpx.Client(base_url=r.url, timeout=30) for r in pair.replicas)
    through = httpx.Client(base_url=pair.nginx.url, timeout=30)
    layer_id = f"scaleout-{uuid.uuid4().hex[:8]}"
    points = {"type": "FeatureCollection", "features": [_point("one", 113.3), _point("two", 113.4)]}
    upload = {"file": ("points.geojson", orjson.dumps(points), "application/geo+json")}
    answer = first.post("/ingest", files=upload, data={"id": layer_id}, headers=PUBLISHER)
    assert answer.status_code == 201, answer.text
    try:
        wait_for_layer(second, layer_id)
        for _ in range(6):  # least_conn over two idle replicas: both are asked
            items = through.get(f"/collections/{layer_id}/items")
            assert items.status_code == 200, items.text
            assert items.json()["numberMatched"] == 2
        tried = {r[0] for m, p, s, r in upstreams(pair.access_log) if layer_id in p}
        assert tried == {f"127.0.0.1:{r.port}" for r in pair.replicas}
    finally:
        deleted = second.delete(f"/admin/layers/{layer_id}", headers=PUBLISHER)
        assert deleted.status_code in (200, 204), deleted.text
    wait_for_layer_gone(first, layer_id)


def _point(name: str, lon: float) -> dict[str, object]:
    geometry = {"type": "Point", "coordinates": [lon, 23.1]}
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def test_a_tile_made_by_one_replica_is_served_by_the_other_from_the_shared_cache(
    pair: Balanced,
) -> None:
    first, second = pair.replicas
    made = httpx.get(first.url + TILE)
    assert made.status_code == 200
    files = sorted(p for p in pair.tile_cache.rglob("*") if p.is_file())
    assert files, "the first replica wrote nothing into the shared tile cache"
    served = httpx.get(second.url + TILE)
    assert served.status_code == 200 and served.content == made.content
    assert served.headers["etag"] == made.headers["etag"]
    assert sorted(p for p in pair.tile_cache.rglob("*") if p.is_file()) == files  # not re-made


def test_a_replica_killed_mid_load_costs_no_request_through_nginx(doomed_pair: Balanced) -> None:
    pair = doomed_pair
    feature = httpx.get(f"{pair.nginx.url}/collections/{CITIES}/items?limit=1").json()
    paths = [
        TILE,
        WMTS_TILE,
        f"/collections/{CITIES}/items?limit=5",
        f"/collections/{CITIES}/items/{feature['features'][0]['id']}",
        "/collections",
        "/search?q=广州",
    ]
    victim = pair.replicas[1]
    failures: list[str] = []
    stop = threading.Event()
    killed_at = threading.Timer(KILL_AFTER_S, victim.kill)
    threads = [
        threading.Thread(target=_load, args=(pair.nginx.url, paths, stop, failures))
        for _ in range(LOAD_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    killed_at.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    killed_at.join()
    assert not victim.alive()
    assert failures == []
    _assert_failover(pair, f"127.0.0.1:{victim.port}")


def _load(base: str, paths: list[str], stop: threading.Event, failures: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        n = 0
        while not stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            try:
                status = client.get(path).status_code
            except httpx.HTTPError as exc:
                failures.append(f"{path}: {exc!r}")
                continue
            if status != 200:
                failures.append(f"{path}: {status}")


def _assert_failover(pair: Balanced, victim: str) -> None:
    """The victim served its share before the kill; after it, every request it was sent
    went on to the survivor; and load went on (the survivor answered many more)."""
    logged = wait_for(lambda: upstreams(pair.access_log), "nginx logged no request")
    served_by_victim = [r for r in logged if r[3] == [victim]]
    retried = [r for r in logged if len(r[3]) > 1]
    assert served_by_victim, "the killed replica got no traffic before the kill"
    assert retried, "no request was passed on from the killed replica"
    assert all(r[3][0] == victim and r[2] == 200 for r in retried), retried
    last_victim = max(i for i, r in enumerate(logged) if victim in r[3])
    assert len(logged) - last_victim > 20, "the survivor answered hardly anything after the kill"
