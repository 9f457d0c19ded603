"""A separate OneMap process for the quota and revocation tests: it runs the app's
``AccessService`` on its own pool and obeys JSON commands, one per stdin line, answering
one JSON line each on stdout.

    {"cmd": "auth", "secret": S, "service": "tiles", "n": 20, "pace_s": 0}
        → {"allowed": k, "refused": m, "first_refusal": {"status": 429, "headers": {...}, ...}}
    {"cmd": "auth_until_refused", "secret": S, "service": "tiles", "timeout_s": 5}
        → {"seconds": t, "status": 401, ...}
    {"cmd": "rate", "identity": I, "limit": 200, "n": 400, "pace_s": 0.004}
        → {"allowed": k, "refused": m, "first_refusal": {...}}  (the gate's rate limiter)
    {"cmd": "flush"} → {"ok": true};  {"cmd": "stop"} → final flush, {"ok": true}, exit

Run: ``python -m tests.access.key_worker DATABASE_URL FLUSH_INTERVAL_S [CLOCK_START]``; the
rate limiter's clock starts at CLOCK_START (epoch seconds) when given, so two workers count
in one known window whatever the time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import orjson

from layers.access.rates import RateLimiter
from layers.access.service import AccessService
from layers.db import open_pool_lazily
from layers.errors import OneMapError
from layers.settings import RateLimitSettings
from ogc.errors import headers_of, status_of


def refusal(exc: OneMapError) -> dict[str, Any]:
    """How the app's one error table answers this refusal over HTTP."""
    return {"status": status_of(exc), "headers": headers_of(exc), "message": exc.message}


async def auth(service: AccessService, command: dict[str, Any]) -> dict[str, Any]:
    allowed = refused = 0
    first: dict[str, Any] | None = None
    for _ in range(command["n"]):
        try:
            await service.authenticate(command["secret"], command["service"])
            allowed += 1
        except OneMapError as exc:
            refused += 1
            first = first or refusal(exc)
        if command.get("pace_s"):
            await asyncio.sleep(command["pace_s"])
    return {"allowed": allowed, "refused": refused, "first_refusal": first}


async def rate(limiter: RateLimiter, command: dict[str, Any]) -> dict[str, Any]:
    allowed = refused = 0
    first: dict[str, Any] | None = None
    for _ in range(command["n"]):
        try:
            limiter.admit(command["identity"], command["limit"])
            allowed += 1
        except OneMapError as exc:
            refused += 1
            first = first or refusal(exc)
        await asyncio.sleep(command["pace_s"])  # lets the periodic flush run meanwhile
    return {"allowed": allowed, "refused": refused, "first_refusal": first}


def limiter_from(clock_start: float | None) -> RateLimiter:
    limiter = RateLimiter(RateLimitSettings(rate_window_s=3600))
    if clock_start is not None:
        started = time.monotonic()
        limiter.clock = lambda: clock_start + (time.monotonic() - started)
    return limiter


async def auth_until_refused(service: AccessService, command: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    while time.monotonic() - started < command["timeout_s"]:
        try:
            await service.authenticate(command["secret"], command["service"])
        except OneMapError as exc:
            return {"seconds": time.monotonic() - started, **refusal(exc)}
        await asyncio.sleep(0.005)
    return {"seconds": None}


async def main(database_url: str, flush_interval_s: float, clock_start: float | None) -> None:
    pool = open_pool_lazily(database_url, min_size=1, max_size=2, statement_timeout_ms=10_000)
    await pool.open(wait=True)
    limiter = limiter_from(clock_start)
    service = AccessService(pool, database_url, flush_interval_s=flush_interval_s, rates=limiter)
    await service.start()
    await asyncio.wait_for(service.listening.wait(), timeout=10)
    print(orjson.dumps({"ready": True}).decode(), flush=True)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = orjson.loads(line)
            if command["cmd"] == "stop":
                break
            if command["cmd"] == "auth":
                answer = await auth(service, command)
            elif command["cmd"] == "rate":
                answer = await rate(limiter, command)
            elif command["cmd"] == "auth_until_refused":
                answer = await auth_until_refused(service, command)
            else:
                await service.flush()
                answer = {"ok": True}
            print(orjson.dumps(answer).decode(), flush=True)
    finally:
        await service.stop()
        await pool.close()
    print(orjson.dumps({"ok": True}).decode(), flush=True)


if __name__ == "__main__":
    start = float(sys.argv[3]) if len(sys.argv) > 3 else None
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), start))
