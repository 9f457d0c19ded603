"""/metrics over real sockets: the exposition parsed by prometheus_client's own parser,
counters that move after real requests (a cached tile the HTTP protocol answers at once
among them), and who may read it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.routers.tiles_fastpath import TileCacheFastPath
from tests.conftest import PUBLISHER_TOKEN
from tests.helpers.live import LiveServer, live_server
from tests.observe.conftest import METRICS_TOKEN
from tests.tiles.helpers import tile_at

SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def served(observed_settings: ServiceSettings) -> Iterator[tuple[LiveServer, TileCacheFastPath]]:
    app = create_app(observed_settings)
    with live_server(app) as server:
        fast = app.fast_layer  # type: ignore[attr-defined]
        assert isinstance(fast, TileCacheFastPath)
        yield server, fast


def scrape(server: LiveServer, headers: dict[str, str] = SCRAPER) -> Samples:
    answer = httpx.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "no-store" in answer.headers["cache-control"]
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = frozenset((k, v) for k, v in sample.labels.items() if k != "pid")
            samples[(sample.name, labels)] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counters_move_after_real_requests(served: tuple[LiveServer, TileCacheFastPath]) -> None:
    server, fast = served
    row, col = tile_at("WebMercatorQuad", 8)
    tile = f"{server.url}/collections/gd-counties/tiles/WebMercatorQuad/8/{row}/{col}"
    before, at_once = scrape(server), fast.at_once
    with httpx.Client(timeout=30) as client:
        assert client.get(tile).status_code == 200  # made by the route
        assert client.get(tile).status_code == 200  # from disk by the fast layer
        assert client.get(tile).status_code == 200  # from memory, written at once
        page = client.get(f"{server.url}/collections/gd-counties/items?limit=2")
        assert page.status_code == 200
        fid = page.json()["features"][0]["id"]
        assert client.get(f"{server.url}/collections/gd-counties/items/{fid}").status_code == 200
        assert client.get(f"{server.url}/collections/nowhere/items").status_code == 404
    after = scrape(server)
    assert fast.at_once - at_once == 1  # the third hit never reached ASGI, and is counted

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "onemap_http_requests_total"
    assert moved(requests, route="tiles", status="200") == 1
    assert moved(requests, route="tiles-cached", status="200") == 2
    assert moved(requests, route="items", status="200") == 1
    assert moved(requests, route="items", status="404") == 1
    assert moved(requests, route="feature", status="200") == 1
    assert moved(requests, route="admin", status="200") == 1  # the first scrape
    # Timed through ASGI only: the tile from disk, not the one written at once.
    latency = "onemap_http_request_duration_seconds"
    assert moved(f"{latency}_count", route="tiles-cached") == 1
    assert moved(f"{latency}_count", route="items") == 2
    assert moved(f"{latency}_bucket", route="items", le="+Inf") == 2
    assert moved(f"{latency}_sum", route="items") > 0
    lookups = "onemap_tile_cache_lookups_total"
    assert moved(lookups, result="miss") == 1 and moved(lookups, result="hit") == 2
    ratio = value(after, "onemap_tile_cache_hit_ratio")
    hits, misses = value(after, lookups, result="hit"), value(after, lookups, result="miss")
    assert ratio == pytest.approx(hits / (hits + misses))


def test_buckets_are_cumulative(served: tuple[LiveServer, TileCacheFastPath]) -> None:
    server, _ = served
    samples = scrape(server)
    buckets = sorted(
        (float(dict(labels)["le"]), count)
        for (name, labels), count in samples.items()
        if name == "onemap_http_request_duration_seconds_bucket"
        and dict(labels)["route"] == "admin"
    )
    counts = [count for _, count in buckets]
    assert buckets[-1][0] == float("inf") and counts == sorted(counts) and counts[-1] >= 1
    count = value(samples, "onemap_http_request_duration_seconds_count", route="admin")
    assert counts[-1] == count


def test_gauges_of_the_services(served: tuple[LiveServer, TileCacheFastPath]) -> None:
    server, _ = served
    samples = scrape(server)
    size, in_use = value(samples, "onemap_db_pool_size"), value(samples, "onemap_db_pool_in_use")
    assert 1 <= size <= value(samples, "onemap_db_pool_max") and 0 <= in_use <= size
    assert value(samples, "onemap_db_pool_waiting") == 0
    assert value(samples, "onemap_catalog_generation") >= 1
    assert value(samples, "onemap_catalog_layers") >= 3
    assert value(samples, "onemap_database_up") == 1
    assert ("onemap_jobs", frozenset({("status", "accepted")})) in samples
    assert ("onemap_jobs", frozenset({("status", "running")})) in samples
    assert ("onemap_admission_shed_total", frozenset()) in samples
    assert value(samples, "process_resident_memory_bytes") > 0


def test_who_may_read_metrics(served: tuple[LiveServer, TileCacheFastPath]) -> None:
    server, _ = served
    url = f"{server.url}/metrics"
    public = httpx.get(url, timeout=10)
    assert public.status_code == 401
    assert public.headers["www-authenticate"] == 'Bearer realm="onemap"'
    assert "ONEMAP_METRICS_TOKEN" in public.json()["detail"]
    wrong = httpx.get(url, headers={"Authorization": "Bearer scrape-me-0123456788"}, timeout=10)
    assert wrong.status_code == 401  # not the token (and no identity provider): the public
    admin = {"Authorization": f"Bearer {PUBLISHER_TOKEN}"}
    assert scrape(server, admin)  # an admin credential reads them too
    # The scraper's token opens /metrics and nothing else.
    keys = httpx.get(f"{server.url}/admin/keys", headers=SCRAPER, timeout=10)
    assert keys.status_code == 403
