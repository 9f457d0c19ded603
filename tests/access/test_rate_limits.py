"""Rate limits per caller identity through a real server (uvicorn with OneMap's protocol,
``X-Forwarded-For`` trusted from 127.0.0.1 as ``onemap serve`` trusts it): 429 with
``Retry-After`` and ``RateLimit-*`` after N requests, per client address (an IPv6 /64 as
one) and per key apart, health checks exempt, cached tiles answered at once by the HTTP
protocol counted and refused with the rest, a key's own limit refused before its quota
counts. The limiter's clock is pinned 100 s into a one-hour window, so no window boundary
falls inside a test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from layers.access.caller import ANONYMOUS, Caller
from layers.access.rates import RateLimiter
from layers.errors import RateLimited
from layers.settings import RateLimitSettings, ServiceSettings
from ogc.app import create_app
from tests.access.identify_fixtures import TILE, new_key
from tests.conftest import PUBLISHER
from tests.gate_fixtures import PUBLIC, publish_gate_layers
from tests.helpers.live import live_server

WINDOW_S = 3600
PINNED = (time.time() // WINDOW_S) * WINDOW_S + 100  # 100 s into the current window
RETRY_AFTER = str(WINDOW_S - 100)
COLLECTION = f"/collections/{PUBLIC}"


@pytest.fixture(scope="module")
def gate_layers(sample_url: str) -> str:
    publish_gate_layers(sample_url)
    return sample_url


@contextmanager
def serving(settings: ServiceSettings, tmp_path: Path, **limits: int) -> Iterator[Served]:
    """A live app with these limits, its limiter's clock pinned."""
    update = {"tile_cache_dir": tmp_path, "rate_window_s": WINDOW_S, **limits}
    app = create_app(settings.model_copy(update=update))
    app.state.onemap.callers.rates.clock = lambda: PINNED
    with live_server(app) as server:
        yield Served(server.url, app)


@dataclass(frozen=True)
class Served:
    url: str
    app: Any


@pytest.fixture
def limited(settings: ServiceSettings, gate_layers: str, tmp_path: Path) -> Iterator[Served]:
    with serving(settings, tmp_path, rate_limit_anonymous=3) as server:
        yield server


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _statuses(server: Served, path: str, address: str, n: int) -> list[int]:
    return [httpx.get(server.url + path, headers=_from(address)).status_code for _ in range(n)]


def test_the_request_after_the_limit_is_a_429_with_retry_after(limited: Served) -> None:
    assert _statuses(limited, COLLECTION, "198.51.100.7", 3) == [200] * 3
    refused = httpx.get(limited.url + COLLECTION, headers=_from("198.51.100.7"))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == RETRY_AFTER
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == f"3;w={WINDOW_S}"
    assert refused.headers["content-type"] == "application/problem+json"
    assert "3 per 3600 s" in refused.json()["detail"]
    assert "per client address" in refused.json()["detail"]
    # Load balancers' probes are exempt.
    assert httpx.get(limited.url + "/healthz", headers=_from("198.51.100.7")).status_code == 200
    assert httpx.get(limited.url + "/readyz", headers=_from("198.51.100.7")).status_code == 200


def test_addresses_and_keys_are_limited_apart(limited: Served, gate_layers: str) -> None:
    assert _statuses(limited, COLLECTION, "198.51.100.20", 4) == [200] * 3 + [429]
    assert _statuses(limited, COLLECTION, "198.51.100.21", 1) == [200]  # another address
    _, secret = new_key(gate_layers)
    keyed = httpx.get(
        limited.url + COLLECTION, headers=_from("198.51.100.20") | {"X-OneMap-Key": secret}
    )
    assert keyed.status_code == 200  # the key is its own identity, unlimited by default
    # An IPv6 client is its /64: addresses inside it share one count, the next /64 does not.
    one, same, other = "2001:db8:5:6::1", "2001:db8:5:6:ffff::9", "2001:db8:5:7::1"
    assert _statuses(limited, COLLECTION, one, 2) + _statuses(limited, COLLECTION, same, 2) == [
        200,
        200,
        200,
        429,
    ]
    assert _statuses(limited, COLLECTION, other, 1) == [200]


def test_cached_tiles_answered_at_once_count_and_are_refused(
    settings: ServiceSettings, gate_layers: str, tmp_path: Path
) -> None:
    with serving(settings, tmp_path, rate_limit_anonymous=6) as server:
        fast = server.app.fast_layer
        statuses = _statuses(server, TILE, "203.0.113.50", 8)
        assert statuses == [200] * 6 + [429] * 2
        assert fast.at_once >= 3  # made, then from disk, then from memory by the protocol
        answered_at_once = fast.at_once
        refused = httpx.get(server.url + TILE, headers=_from("203.0.113.50"))
        assert refused.status_code == 429 and refused.headers["retry-after"] == RETRY_AFTER
        assert fast.at_once == answered_at_once  # a refusal is the gate's answer, not a tile
        # Another client behind the same proxy still gets the hot tile at once.
        assert _statuses(server, TILE, "203.0.113.51", 1) == [200]
        assert fast.at_once == answered_at_once + 1


def test_a_keys_own_limit_is_refused_before_its_quota_counts(
    settings: ServiceSettings, gate_layers: str, tmp_path: Path
) -> None:
    key, secret = new_key(gate_layers, rate_limit=2, quotas={"tiles": 100})
    with serving(settings, tmp_path) as server:
        statuses = _statuses(server, f"{TILE}?tk={secret}", "198.51.100.30", 4)
        assert statuses == [200, 200, 429, 429]
        refused = httpx.get(f"{server.url}{TILE}?tk={secret}", headers=_from("198.51.100.30"))
        assert "per API key" in refused.json()["detail"]
        access = server.app.state.onemap.access
        time.sleep(2 * access.flush_interval_s + 0.5)  # flushed by the service on its own
    with psycopg.connect(gate_layers) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(count), 0) FROM onemap.api_key_usage "
            "WHERE key_id = %s AND service = 'tiles'",
            (key.id,),
        ).fetchone()
        windows = conn.execute(
            "SELECT count FROM onemap.rate_usage WHERE identity = %s", (f"key:{key.id}",)
        ).fetchall()
    assert row is not None and row[0] == 2  # the refused requests used no quota
    assert windows == [(2,)]


def test_identities() -> None:
    limiter = RateLimiter(RateLimitSettings())
    key = Caller(kind="key", subject="5f0e", roles=frozenset({"member"}))
    assert limiter.identity_of(key, "10.0.0.1") == "key:5f0e"
    assert limiter.identity_of(Caller(kind="user", subject="u1"), None) == "user:u1"
    assert limiter.identity_of(Caller(kind="local", subject="ops"), None) is None
    assert limiter.identity_of(ANONYMOUS, "10.0.0.1") == "ip:10.0.0.1"
    assert limiter.identity_of(ANONYMOUS, "2001:db8::1") == "ip:2001:db8::/64"
    assert limiter.identity_of(ANONYMOUS, "::ffff:10.0.0.1") == "ip:10.0.0.1"
    assert limiter.identity_of(ANONYMOUS, None) == "ip:unknown"


def test_a_new_window_admits_again() -> None:
    now = [PINNED]
    limiter = RateLimiter(RateLimitSettings(rate_window_s=60), clock=lambda: now[0])
    start = (PINNED // 60) * 60
    now[0] = start + 59.5
    for _ in range(2):
        limiter.admit("ip:192.0.2.1", 2)
    with pytest.raises(RateLimited) as refused:
        limiter.admit("ip:192.0.2.1", 2)
    assert refused.value.retry_after_s == 1  # rounded up, never 0
    now[0] = start + 60  # the next window
    limiter.admit("ip:192.0.2.1", 2)
    limiter.admit("ip:192.0.2.1", 0)  # 0: no limit


def test_a_keys_rate_limit_must_be_positive() -> None:
    from datetime import UTC, datetime

    from layers.access.keys import KeySpec
    from layers.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="1 or more requests per window"):
        KeySpec("gate-dept", "zero", rate_limit=0).params(datetime.now(UTC))
    assert KeySpec("gate-dept", "ok", rate_limit=5).params(datetime.now(UTC))["rate_limit"] == 5


def test_a_bearer_credential_has_the_key_limit(
    settings: ServiceSettings, gate_layers: str, tmp_path: Path
) -> None:
    """The publisher token is one caller (``key:token``), limited by ONEMAP_RATE_LIMIT_KEY,
    apart from the anonymous callers of the same address."""
    with serving(settings, tmp_path, rate_limit_key=2, rate_limit_anonymous=5) as server:
        address = "198.51.100.40"
        token = _from(address) | PUBLISHER
        statuses = [httpx.get(server.url + COLLECTION, headers=token).status_code for _ in "abc"]
        assert statuses == [200, 200, 429]
        refused = httpx.get(server.url + COLLECTION, headers=token)
        assert "2 per 3600 s are allowed per API key" in refused.json()["detail"]
        assert _statuses(server, COLLECTION, address, 1) == [200]  # anonymous: its own count
