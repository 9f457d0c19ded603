"""The key service of one process: unknown keys, the negative cache dropped when a key is
created elsewhere, counts kept while the database is away."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import psycopg
import pytest

from layers.access import keys
from layers.access.keys import KeySpec, create_key
from layers.access.quota import UsageCounter
from layers.access.service import AccessService
from layers.db import open_pool_lazily
from layers.errors import AuthenticationFailed
from tests.access.conftest import ADMIN


@pytest.fixture
async def service(access_url: str) -> AsyncIterator[AccessService]:
    pool = open_pool_lazily(access_url, min_size=1, max_size=2, statement_timeout_ms=5000)
    await pool.open(wait=True)
    access = AccessService(pool, access_url, flush_interval_s=3600)
    await access.start()
    await asyncio.wait_for(access.listening.wait(), timeout=10)
    try:
        yield access
    finally:
        await access.stop()
        await pool.close()


async def test_unknown_keys_are_401_and_a_new_key_is_seen_at_once(
    service: AccessService, aconn: psycopg.AsyncConnection
) -> None:
    with pytest.raises(AuthenticationFailed, match="unknown API key"):
        await service.authenticate("om_" + "x" * 43, "tiles")
    with pytest.raises(AuthenticationFailed):
        await service.authenticate("tk-from-elsewhere", "tiles")

    key, secret = await create_key(aconn, KeySpec("gd-nr", "cached"), ADMIN)
    assert (await service.authenticate(secret, "tiles")).subject == str(key.id)


async def test_a_key_first_refused_as_unknown_is_accepted_once_created(
    service: AccessService, aconn: psycopg.AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown secret is cached as unknown; creating any key drops that (NOTIFY)."""
    secret = keys.new_secret()
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(secret, "features")
    monkeypatch.setattr(keys, "new_secret", lambda: secret)  # the next key gets this secret
    key, _ = await create_key(aconn, KeySpec("gd-nr", "refused first"), ADMIN)
    for _ in range(100):
        try:
            caller = await service.authenticate(secret, "features")
            break
        except AuthenticationFailed:
            await asyncio.sleep(0.01)
    else:
        raise AssertionError("the new key was still refused after 1 s")
    assert caller.subject == str(key.id)


async def test_counts_are_kept_while_the_database_is_away() -> None:
    counter = UsageCounter()
    key_id, day = uuid.uuid4(), date(2025, 6, 10)
    counter.add(key_id, day, "tiles", 7)
    pool = open_pool_lazily(
        "postgresql://nobody@127.0.0.1:1/none", min_size=0, max_size=1, statement_timeout_ms=1
    )
    await pool.open(wait=False)
    pool.timeout = 0.5
    try:
        await counter.flush(pool, [key_id], day)
    finally:
        await pool.close()
    assert counter.pending == 7 and counter.used(key_id, day, "tiles") == 7
