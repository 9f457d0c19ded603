"""Keys: created with a secret shown once, looked up by it, revoked, expired, bound."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from layers.access import bindings
from layers.access.days import shanghai_day, utc_now
from layers.access.keys import (
    KeySpec,
    check_key,
    create_key,
    find_key,
    get_key,
    list_keys,
    revoke_key,
    secret_hash,
)
from layers.errors import AuthenticationFailed, Forbidden, InvalidParameter, NotFound, QuotaExceeded
from ogc.errors import headers_of
from tests.access.conftest import ADMIN

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


async def test_a_key_is_stored_hashed_and_found_by_its_secret(
    aconn: psycopg.AsyncConnection,
) -> None:
    spec = KeySpec("gd-nr", "mobile app", "server", roles=("government",), areas=("4401",))
    key, secret = await create_key(aconn, spec, ADMIN)
    assert secret.startswith("om_") and len(secret) >= 43 + 3
    cur = await aconn.execute("SELECT secret_hash FROM onemap.api_keys WHERE id = %s", (key.id,))
    row = await cur.fetchone()
    assert row is not None and bytes(row[0]) == secret_hash(secret)
    dump = await aconn.execute("SELECT k::text FROM onemap.api_keys k WHERE id = %s", (key.id,))
    text = await dump.fetchone()
    assert text is not None and secret not in text[0] and secret[3:] not in text[0]

    found = await find_key(aconn, secret, shanghai_day(utc_now()))
    assert found is not None and found[0] == key and found[1] == {}
    assert (
        await find_key(aconn, secret[:-1] + ("A" if secret[-1] != "A" else "B"), NOW.date()) is None
    )
    assert await find_key(aconn, "not-a-key", NOW.date()) is None

    caller = check_key(key, "tiles", None, "192.0.2.1", utc_now())
    assert caller.kind == "key" and caller.subject == str(key.id)
    assert caller.departments == {"gd-nr"} and caller.roles == {"government"}
    assert caller.areas == ("4401",)


async def test_revoked_and_expired_keys_are_401(aconn: psycopg.AsyncConnection) -> None:
    key, _ = await create_key(
        aconn, KeySpec("gd-nr", "short-lived", expires_at=utc_now() + timedelta(hours=1)), ADMIN
    )
    assert key.status(utc_now()) == "active"
    with pytest.raises(AuthenticationFailed, match="expired") as expired:
        check_key(key, "features", None, None, utc_now() + timedelta(hours=2))
    assert expired.value.credential == "key"
    assert headers_of(expired.value)["WWW-Authenticate"].startswith("ApiKey")

    revoked = await revoke_key(aconn, key.id, ADMIN)
    assert revoked.revoked_at is not None and revoked.revoked_by == "tester"
    with pytest.raises(AuthenticationFailed, match="revoked"):
        check_key(revoked, "features", None, None, utc_now())
    again = await revoke_key(aconn, key.id, ADMIN)  # idempotent
    assert again.revoked_at == revoked.revoked_at
    assert key.id not in {k.id for k in await list_keys(aconn)}
    assert key.id in {k.id for k in await list_keys(aconn, include_revoked=True)}


async def test_unknown_keys_and_departments_are_clear_errors(
    aconn: psycopg.AsyncConnection,
) -> None:
    import uuid

    with pytest.raises(NotFound):
        await get_key(aconn, uuid.uuid4())
    with pytest.raises(NotFound):
        await revoke_key(aconn, uuid.uuid4(), ADMIN)
    with pytest.raises(InvalidParameter, match="not registered"):
        await create_key(aconn, KeySpec("no-such-dept", "x"), ADMIN)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (KeySpec("gd-nr", ""), "name"),
        (KeySpec("gd-nr", "x", "desktop"), "browser or server"),
        (KeySpec("gd-nr", "x", "server", ip_ranges=("10.0.0.1/8",)), "CIDR"),
        (KeySpec("gd-nr", "x", "server", ip_ranges=("not-an-ip",)), "CIDR"),
        (KeySpec("gd-nr", "x", "browser", referers=("https://x.cn/path",)), "host pattern"),
        (KeySpec("gd-nr", "x", "browser", ip_ranges=("10.0.0.0/8",)), "referer"),
        (KeySpec("gd-nr", "x", "server", referers=("*.gd.gov.cn",)), "IP ranges"),
        (KeySpec("gd-nr", "x", roles=("root",)), "unknown role"),
        (KeySpec("gd-nr", "x", "browser", roles=("publisher",)), "browser keys"),
        (KeySpec("gd-nr", "x", areas=("44x",)), "adcode prefix"),
        (KeySpec("gd-nr", "x", quotas={"tiles": -1}), "0 or more"),
        (KeySpec("gd-nr", "x", quotas={"wms": 1}), "no service"),
        (KeySpec("gd-nr", "x", expires_at=NOW), "past"),
        (KeySpec("gd-nr", "x", expires_at=datetime(2099, 1, 1)), "time zone"),
    ],
)
async def test_bad_key_specs_are_refused_with_a_reason(
    aconn: psycopg.AsyncConnection, spec: KeySpec, message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        await create_key(aconn, spec, ADMIN)


async def test_browser_keys_are_bound_to_referer_host_patterns(
    aconn: psycopg.AsyncConnection,
) -> None:
    spec = KeySpec("gz-plan", "web map", "browser", referers=("*.gd.gov.cn", "map.gz.gov.cn:8443"))
    key, _ = await create_key(aconn, spec, ADMIN)
    now = utc_now()
    for allowed in (
        "https://zwfw.gd.gov.cn/map/index.html",
        "https://a.b.gd.gov.cn",
        "https://map.gz.gov.cn:8443/x",
    ):
        assert check_key(key, "tiles", allowed, None, now).kind == "key"
    for refused in (
        "https://gd.gov.cn/",  # the bare domain is not a subdomain
        "https://evilgd.gov.cn/",
        "https://gd.gov.cn.evil.com/",
        "https://map.gz.gov.cn/x",  # wrong port
        "null",
        None,
    ):
        with pytest.raises(Forbidden):
            check_key(key, "tiles", refused, None, now)


async def test_server_keys_are_bound_to_ip_ranges(aconn: psycopg.AsyncConnection) -> None:
    spec = KeySpec(
        "gd-nr", "batch job", "server", ip_ranges=("10.20.0.0/16", "192.0.2.7", "2001:db8::/32")
    )
    key, _ = await create_key(aconn, spec, ADMIN)
    assert ipaddress.ip_network("192.0.2.7/32") in key.ip_ranges  # stored as cidr[]
    now = utc_now()
    for allowed in ("10.20.3.4", "192.0.2.7", "::ffff:10.20.0.1", "2001:db8::1"):
        assert check_key(key, "features", None, allowed, now).kind == "key"
    for refused in ("10.21.0.1", "192.0.2.8", "2001:db9::1", "garbage", None):
        with pytest.raises(Forbidden):
            check_key(key, "features", None, refused, now)


async def test_quotas_zero_forbids_and_a_used_quota_is_429_until_shanghai_midnight(
    aconn: psycopg.AsyncConnection,
) -> None:
    key, _ = await create_key(
        aconn, KeySpec("gd-nr", "quota", quotas={"tiles": 5, "processes": 0}), ADMIN
    )
    at = datetime(2025, 6, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert check_key(key, "tiles", None, None, at, used=4).kind == "key"
    with pytest.raises(QuotaExceeded) as over:
        check_key(key, "tiles", None, None, at, used=5)
    assert over.value.retry_after_s == 30 * 60
    with pytest.raises(Forbidden, match="processes"):
        check_key(key, "processes", None, None, at)
    assert check_key(key, "features", None, None, at, used=10**9).kind == "key"  # unlimited


def test_referer_hosts_and_patterns() -> None:
    assert bindings.referer_host("https://Map.GD.gov.cn:443/x?y") == "map.gd.gov.cn:443"
    assert bindings.referer_host("http://[::1]:bad/") is None
    assert bindings.parse_referer_patterns(["*.GD.gov.cn ", "a.cn"]) == ["*.gd.gov.cn", "a.cn"]
    assert bindings.host_allowed("x.gd.gov.cn:8080", ["*.gd.gov.cn"])
