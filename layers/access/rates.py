"""Rate limits per caller identity, counted with the daily quotas' mechanism.

A request is admitted when its identity's count in the current fixed window (``window_s``
seconds, aligned to the epoch) is below its limit: the count is ``layers.access.quota``'s
— this process's requests at once, the other replicas' as of the last flush (every
second, with the quota counts) — so a decision costs a few dict look-ups and no database
round trip, on the cached-tile fast path too. Past a limit each replica admits at most
what it serves of that identity in one flush interval (ADR 0011's bound), and a window
boundary lets a client spend two windows' worth in a short time (fixed windows).

Identities: ``key:<key id>``, ``user:<subject>`` (bearer tokens; the publisher token is
``key:token``), else ``ip:<address>`` with an IPv6 address standing for its /64 (one
host's usual allocation: rotating addresses inside it buys nothing). The command line is
never limited.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from layers.access.caller import Caller
from layers.access.quota import SharedCounter
from layers.access.sqlfiles import access_sql
from layers.errors import RateLimited

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from layers.settings import RateLimitSettings

RateUsage = tuple[str, int]  # identity, window start (epoch seconds)
_NETWORKS_REMEMBERED = 10_000  # IPv6 addresses whose /64 is remembered (then forgotten)


class RateCounter(SharedCounter[RateUsage]):
    """Requests per identity and window (``onemap.rate_usage``)."""

    statement = "flush_rate_usage"

    def __init__(self) -> None:
        super().__init__()
        self.current = 0  # the window flushed last: older totals decide nothing

    def _params(self, batch: dict[RateUsage, int]) -> dict[str, Any]:
        return {
            "identities": [usage[0] for usage in batch],
            "windows": [_instant(usage[1]) for usage in batch],
            "counts": list(batch.values()),
        }

    def _usage_of(self, row: tuple[Any, ...]) -> tuple[RateUsage, int]:
        identity, window_start, total = row
        return (identity, int(window_start.timestamp())), total

    def _current(self, usage: RateUsage) -> bool:
        return usage[1] >= self.current


class RateLimiter:
    """The limits of ``RateLimitSettings`` and the shared counts they are decided on."""

    def __init__(self, settings: RateLimitSettings, clock: Callable[[], float] = time.time) -> None:
        self.window_s = settings.rate_window_s
        self.anonymous_limit = settings.rate_limit_anonymous
        self.key_limit = settings.rate_limit_key
        self.clock = clock
        self.counter = RateCounter()
        self._networks: dict[str, str] = {}

    def limit_of(self, caller: Caller, own_limit: int | None = None) -> int:
        """Requests per window ``caller`` may make (0: unlimited); ``own_limit`` is a key's."""
        if caller.is_anonymous:
            return self.anonymous_limit
        return own_limit if own_limit is not None else self.key_limit

    def identity_of(self, caller: Caller, client_host: str | None) -> str | None:
        """Whose requests ``caller``'s count with (None: never limited)."""
        if caller.kind == "local":
            return None
        if not caller.is_anonymous and caller.subject:
            return f"{caller.kind}:{caller.subject}"
        return "ip:" + self._network_of(client_host or "unknown")

    def admit(self, identity: str | None, limit: int) -> None:
        """Count one request of ``identity``, or refuse it (``RateLimited``, not counted)."""
        if identity is None or limit <= 0:
            return
        now = self.clock()
        window = int(now // self.window_s) * self.window_s
        usage = (identity, window)
        if self.counter.count_of(usage) >= limit:
            retry_after = max(1, math.ceil(window + self.window_s - now))
            raise RateLimited(
                f"too many requests: {limit} per {self.window_s} s are allowed {_whose(identity)}"
                f"; retry in {retry_after} s",
                retry_after,
                limit,
                self.window_s,
            )
        self.counter.count(usage)

    async def flush(self, pool: AsyncConnectionPool) -> None:
        """Write the counts and learn every replica's totals of the identities this process
        has seen in the current window."""
        current = int(self.clock() // self.window_s) * self.window_s
        self.counter.current = current
        usages = self.counter.known_usages() + self.counter.pending_usages()
        watched = sorted({identity for identity, window in usages if window == current})
        await self.counter.flush_with(pool, {"current": _instant(current), "watched": watched})

    def _network_of(self, host: str) -> str:
        if ":" not in host:
            return host  # IPv4 (or a name): as the server gave it
        found = self._networks.get(host)
        if found is None:
            found = _ipv6_network(host)
            if len(self._networks) >= _NETWORKS_REMEMBERED:
                self._networks.clear()
            self._networks[host] = found
        return found


async def purge_windows(pool: AsyncConnectionPool, window_s: int) -> int:
    """Delete the counts of windows that ended over an hour (or two windows) ago; how many."""
    older_than_s = max(3600, 2 * window_s)
    async with pool.connection() as conn:
        cur = await conn.execute(access_sql("purge_rate_usage"), {"older_than_s": older_than_s})
        return cur.rowcount


def _ipv6_network(host: str) -> str:
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def _whose(identity: str) -> str:
    kind = identity.split(":", 1)[0]
    return {"key": "per API key", "user": "per user"}.get(kind, "per client address")


def _instant(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)
