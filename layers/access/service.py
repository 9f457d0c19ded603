"""API keys on the request path, as one service the app's lifespan starts and stops.

``authenticate`` answers from memory when it can: a small key-lookup cache (a TTL, and
dropped whole whenever PostgreSQL says a key changed — ``onemap_keys`` — so a revocation
takes effect on every replica at once) and the quota counter of ``layers.access.quota``.
Only a key not seen for ``cache_ttl_s`` costs a database round trip; a cached tile served
with a key costs none. A key's requests count against its rate limit too
(``layers.access.rates``; the gate's ``RateLimiter``, whose counts this service flushes).
Counts (quota usage, rate windows, restricted-layer reads) are flushed every
``flush_interval_s`` and when the service stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import psycopg

from layers.access.audit import DenialCounter, ReadCounter
from layers.access.caller import Caller
from layers.access.days import shanghai_day, utc_now
from layers.access.keys import ApiKey, Service, check_key, find_key, secret_hash
from layers.access.quota import UsageCounter
from layers.access.rates import RateLimiter
from layers.errors import AuthenticationFailed, DatabaseUnavailable
from layers.watch import listen_for_changes

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("onemap.keys")
KEYS_CHANNEL = "onemap_keys"
CacheEntry = tuple[ApiKey | None, float]  # the key (None: no such key), when to look again


class AccessService:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        database_url: str,
        *,
        flush_interval_s: float = 1.0,
        cache_ttl_s: float = 60.0,
        cache_size: int = 10_000,
        rates: RateLimiter | None = None,
    ) -> None:
        self._pool, self._database_url = pool, database_url
        self.flush_interval_s, self.cache_ttl_s, self.cache_size = (
            flush_interval_s,
            cache_ttl_s,
            cache_size,
        )
        self.usage = UsageCounter()
        self.rates = rates
        self.reads = ReadCounter()
        self.denials = DenialCounter()
        self._cache: dict[bytes, CacheEntry] = {}
        self._generation = 0  # bumped by every key change: lookups started before it are stale
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Listen for key changes and flush counts periodically (in background tasks)."""
        listener = listen_for_changes(
            self._database_url, self._keys_changed, ready=self.listening, channel=KEYS_CHANNEL
        )
        self._tasks = [
            asyncio.create_task(listener, name="key-listener"),
            asyncio.create_task(self._flush_periodically(), name="access-flush"),
        ]

    async def stop(self) -> None:
        """Stop the tasks, then flush what was counted since the last flush."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.flush()

    async def authenticate(
        self,
        secret: str,
        service: Service | None,
        referer: str | None = None,
        client_ip: str | None = None,
        now: datetime | None = None,
        *,
        rated: bool = True,
    ) -> Caller:
        """The caller a key's secret makes of a request to ``service`` — counted against its
        rate limit (unless not ``rated``: health) and quota — or the domain error that
        refuses it (``keys.check_key``, ``RateLimited``). A request that belongs to no
        service (``None``: the landing page, the API document) checks the key and its
        binding but counts against no quota."""
        now = now or utc_now()
        day = shanghai_day(now)
        key = await self._lookup(secret, day)
        if key is None:
            raise AuthenticationFailed(unknown_key_message(secret), "key")
        used = 0 if service is None else self.usage.used(key.id, day, service)
        caller = check_key(key, service, referer, client_ip, now, used)
        if rated and self.rates is not None:  # before the quota counts: a refusal is not
            limit = self.rates.limit_of(caller, key.rate_limit)
            self.rates.admit(self.rates.identity_of(caller, client_ip), limit)
        if service is not None:
            self.usage.add(key.id, day, service)
        return caller

    def known_caller(self, secret: str) -> Caller | None:
        """The caller of a key this process has looked up (for the audit of a refusal; no I/O)."""
        cached = self._cache.get(secret_hash(secret))
        return cached[0].caller if cached is not None and cached[0] is not None else None

    def count_restricted_read(self, caller: Caller, layer_id: str) -> None:
        """Count a read of a restricted layer for the aggregated audit (no I/O)."""
        self.reads.count(caller, layer_id)

    async def flush(self, now: datetime | None = None) -> None:
        today = shanghai_day(now or utc_now())
        await self.usage.flush(self._pool, self.cached_key_ids(), today)
        if self.rates is not None:
            await self.rates.flush(self._pool)
        await self.reads.flush(self._pool)
        await self.denials.flush(self._pool)

    def forget_keys(self) -> None:
        """Drop every cached key: the next request with each looks it up again."""
        self._generation += 1
        self._cache.clear()

    async def _keys_changed(self) -> None:
        self.forget_keys()

    async def _lookup(self, secret: str, day: date) -> ApiKey | None:
        digest = secret_hash(secret)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        generation = self._generation
        try:
            async with self._pool.connection() as conn:
                found = await find_key(conn, secret, day)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"API keys cannot be checked now ({exc}); retry") from exc
        key = None
        if found is not None:
            key, totals = found
            self.usage.learn(key.id, day, totals)
        if generation == self._generation:  # no key changed while we looked
            self._remember(digest, key)
        return key

    def _remember(self, digest: bytes, key: ApiKey | None) -> None:
        if len(self._cache) >= self.cache_size:  # drop the oldest entry (insertion order)
            self._cache.pop(next(iter(self._cache)))
        self._cache[digest] = (key, time.monotonic() + self.cache_ttl_s)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            with contextlib.suppress(Exception):  # each counter logs its own failures
                await self.flush()

    def cached_key_ids(self) -> list[uuid.UUID]:
        return [key.id for key, _ in self._cache.values() if key is not None]


def unknown_key_message(secret: str) -> str:
    """Why a secret matched no key, said so a person can act on it. A secret never holds
    ``/`` (``keys.new_secret``): one that does had a path appended after ``tk=`` — GDAL asks
    one feature (``-fid``) as ``…/items?tk=KEY/ID``."""
    if "/" in secret:
        return (
            "unknown API key: something was appended to it after a '/' (GDAL's -fid puts the "
            "feature id after the query string); send the key as the X-OneMap-Key header"
        )
    return "unknown API key"
