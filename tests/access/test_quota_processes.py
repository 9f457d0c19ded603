"""Two OneMap processes on one database share each key's quota and see a revocation at
once (LISTEN/NOTIFY). Each process is ``tests/access/key_worker.py`` running the app's
``AccessService`` on its own pool."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg

from layers.access.days import seconds_until_next_day, utc_now
from layers.access.keys import KeySpec, create_key, revoke_key
from tests.access.conftest import ADMIN

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(orjson.dumps(command) + b"\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, (
            f"the worker stopped: {self.process.stderr.read() if self.process.stderr else ''}"
        )
        answer: dict[str, Any] = orjson.loads(line)
        return answer


@contextmanager
def worker(
    database_url: str, flush_interval_s: float = 3600.0, clock_start: float | None = None
) -> Iterator[Worker]:
    """A second OS process with its own pool; with the default interval it flushes only
    when told to (and when it stops), so a test decides when the replicas exchange counts;
    ``clock_start``: where its rate limiter's clock starts (epoch seconds)."""
    args = [sys.executable, "-m", "tests.access.key_worker", database_url, str(flush_interval_s)]
    process = subprocess.Popen(
        args + ([str(clock_start)] if clock_start is not None else []),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    handle = Worker(process)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert orjson.loads(ready or b"{}").get("ready"), (
            process.stderr.read() if process.stderr else ""
        )
        yield handle
    finally:
        if process.poll() is None:
            handle.ask(cmd="stop")
            process.wait(timeout=15)
        assert process.returncode == 0


def at_once(workers: tuple[Worker, ...], command: bytes) -> list[dict[str, Any]]:
    """Send ``command`` to every worker before reading any answer: they run at once."""
    for w in workers:
        assert w.process.stdin is not None
        w.process.stdin.write(command + b"\n")
        w.process.stdin.flush()
    return [orjson.loads(w.process.stdout.readline()) for w in workers if w.process.stdout]


async def _usage(conn: psycopg.AsyncConnection, key_id: object, service: str) -> int:
    cur = await conn.execute(
        "SELECT coalesce(sum(count), 0) FROM onemap.api_key_usage"
        " WHERE key_id = %s AND service = %s",
        (key_id, service),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def test_two_processes_count_against_one_quota(
    aconn: psycopg.AsyncConnection, access_url: str
) -> None:
    key, secret = await create_key(
        aconn, KeySpec("gd-nr", "shared quota", quotas={"tiles": 30}), ADMIN
    )
    with worker(access_url) as a, worker(access_url) as b:
        assert a.ask(cmd="auth", secret=secret, service="tiles", n=20)["allowed"] == 20
        a.ask(cmd="flush")
        assert await _usage(aconn, key.id, "tiles") == 20

        answer = b.ask(cmd="auth", secret=secret, service="tiles", n=20)  # B sees A's 20
        assert (answer["allowed"], answer["refused"]) == (10, 10)
        refusal = answer["first_refusal"]
        assert refusal["status"] == 429
        retry_after = int(refusal["headers"]["Retry-After"])
        assert abs(retry_after - seconds_until_next_day(utc_now())) <= 5
        b.ask(cmd="flush")

        a.ask(cmd="flush")  # A learns B's counts with its next flush
        answer = a.ask(cmd="auth", secret=secret, service="tiles", n=1)
        assert answer["allowed"] == 0 and answer["first_refusal"]["status"] == 429
        other = a.ask(cmd="auth", secret=secret, service="features", n=3)
        assert other["allowed"] == 3  # quotas are per service
    assert await _usage(aconn, key.id, "tiles") == 30  # refused requests are not counted
    assert await _usage(aconn, key.id, "features") == 3  # flushed when the process stopped


async def test_overshoot_is_bounded_by_one_flush_interval_per_process(
    aconn: psycopg.AsyncConnection, access_url: str
) -> None:
    """Both processes at once, flushing on their own every 0.2 s: together they admit the
    quota and at most one flush interval of each one's traffic beyond it."""
    quota, pace_s, interval_s, attempts = 200, 0.004, 0.2, 400
    key, secret = await create_key(
        aconn, KeySpec("gd-nr", "concurrent", quotas={"features": quota}), ADMIN
    )
    with worker(access_url, interval_s) as a, worker(access_url, interval_s) as b:
        command = orjson.dumps(
            {
                "cmd": "auth",
                "secret": secret,
                "service": "features",
                "n": attempts,
                "pace_s": pace_s,
            }
        )
        answers = at_once((a, b), command)
    allowed = sum(answer["allowed"] for answer in answers)
    per_interval = interval_s / pace_s  # requests one process makes within one flush interval
    assert quota <= allowed <= quota + 2 * per_interval, answers
    assert all(answer["first_refusal"]["status"] == 429 for answer in answers)
    assert await _usage(aconn, key.id, "features") == allowed  # every admitted request counted


async def test_a_revocation_reaches_another_process_at_once(
    aconn: psycopg.AsyncConnection, access_url: str
) -> None:
    key, secret = await create_key(aconn, KeySpec("gd-nr", "to revoke"), ADMIN)
    with worker(access_url) as other:
        assert other.ask(cmd="auth", secret=secret, service="tiles", n=1)["allowed"] == 1  # cached
        await revoke_key(aconn, key.id, ADMIN)
        answer = other.ask(cmd="auth_until_refused", secret=secret, service="tiles", timeout_s=5)
    assert answer["status"] == 401 and "revoked" in answer["message"]
    assert 'ApiKey realm="onemap"' in answer["headers"]["WWW-Authenticate"]
    assert answer["seconds"] < 1.0  # NOTIFY, not the 60 s cache TTL


async def _rate_total(conn: psycopg.AsyncConnection, identity: str) -> int:
    cur = await conn.execute(
        "SELECT coalesce(sum(count), 0) FROM onemap.rate_usage WHERE identity = %s", (identity,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def test_two_processes_share_a_rate_limit_within_one_flush_interval_each(
    aconn: psycopg.AsyncConnection, access_url: str
) -> None:
    """The rate limiter's windows, counted like the quotas: two processes at once on one
    identity admit the limit and at most one flush interval of each one's traffic beyond
    it; every admitted request reaches the database. Both clocks start 10 s into the same
    one-hour window, so no window boundary falls inside the run."""
    limit, pace_s, interval_s, attempts = 200, 0.004, 0.2, 400
    identity = f"ip:198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"
    start = (time.time() // 3600) * 3600 + 10
    command = {"cmd": "rate", "identity": identity, "limit": limit, "n": attempts}
    line = orjson.dumps(command | {"pace_s": pace_s})
    with (
        worker(access_url, interval_s, start) as a,
        worker(access_url, interval_s, start) as b,
    ):
        answers = at_once((a, b), line)
    allowed = sum(answer["allowed"] for answer in answers)
    per_interval = interval_s / pace_s
    assert limit <= allowed <= limit + 2 * per_interval, answers
    for answer in answers:
        refusal = answer["first_refusal"]
        assert refusal["status"] == 429
        assert 3500 <= int(refusal["headers"]["Retry-After"]) <= 3590  # the window's end
        assert refusal["headers"]["RateLimit-Limit"] == str(limit)
    assert await _rate_total(aconn, identity) == allowed  # refused requests are not counted
