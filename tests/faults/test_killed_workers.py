"""A server worker SIGKILLed mid-request or mid-job (issue 16, "Under faults").

Two workers of ``onemap serve`` share one socket. A query that runs as long as the test
wants waits on a table the test holds locked; the worker behind it is found from the
backend's ``client_port`` and killed. PostgreSQL must end that backend by itself (the
connections ask it to check for a vanished client every second), the other worker goes
on answering, and a job the killed worker ran is failed with the reason once its lease
runs out — seen by a client polling ``/jobs/{id}`` through the surviving worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import psycopg

from tests.conftest import PUBLISHER, PUBLISHER_TOKEN
from tests.faults.conftest import (
    backend_alive,
    client_port_of,
    locked,
    process_on_port,
    served,
    waiting_queries,
)
from tests.helpers.wait import wait_for

COUNTIES, CITIES = "gd-counties", "gd-cities"
GONE_WITHIN_S = 4.0  # the client check runs every second; the lock is held far longer
LEASE_S = 2.0


def _kill_worker_of(url: str, backend_pid: int) -> int:
    port = client_port_of(url, backend_pid)
    assert port is not None, "the backend ended before its worker was killed"
    worker = process_on_port(port)
    assert worker != os.getpid()
    os.kill(worker, signal.SIGKILL)
    return worker


def _idle_in_transaction(url: str) -> list[tuple[int, str]]:
    """The service's sessions left in an open transaction (the test's own lock is not one)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = "
            "current_database() AND state LIKE 'idle in transaction%' "
            "AND application_name LIKE 'onemap%'"
        ).fetchall()
    return [(int(pid), str(name)) for pid, name in rows]


def _page_in_background(base: str) -> threading.Thread:
    def ask() -> None:
        # its worker is killed: the connection breaks, as it should
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/collections/{COUNTIES}/items?limit=5", timeout=30)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread


def test_a_killed_worker_takes_its_query_with_it_and_the_others_go_on(
    sample_url: str, tmp_path: Path
) -> None:
    with served(sample_url, tmp_path, workers=2) as base, locked(sample_url, COUNTIES):
        asking = _page_in_background(base)
        backends = wait_for(lambda: waiting_queries(sample_url, COUNTIES), "no page waited")
        killed = _kill_worker_of(sample_url, backends[0])
        started = time.monotonic()
        wait_for(
            lambda: not backend_alive(sample_url, backends[0]),
            f"the killed worker's query ran on for {GONE_WITHIN_S} s with its table locked",
            timeout=GONE_WITHIN_S,
        )
        gone_after = time.monotonic() - started
        asking.join(timeout=10)
        for _ in range(20):  # the other worker (and the supervisor's replacement) answer
            answer = httpx.get(f"{base}/collections/{CITIES}/items?limit=2", timeout=10)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()["features"]) == 2
        assert _idle_in_transaction(sample_url) == []
    assert gone_after < GONE_WITHIN_S, (killed, gone_after)


def _job_backend(url: str, job_id: str) -> int | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'active'",
            (f"onemap-job-{job_id}",),
        ).fetchone()
    return None if row is None else int(row[0])


def _finished(client: httpx.Client, job_id: str) -> dict[str, str] | None:
    """The job's status info once it is no longer running (None: still running, or the
    kept-alive connection was the killed worker's)."""
    try:
        info: dict[str, str] = client.get(f"/jobs/{job_id}").json()
    except httpx.TransportError:
        return None
    return None if info["status"] == "running" else info


def test_a_job_whose_worker_is_killed_is_failed_with_the_reason(
    sample_url: str, tmp_path: Path
) -> None:
    sites = {"collection": COUNTIES}
    body = {"inputs": {"sites": sites, "check": sites, "distance_m": 500}}
    with (
        served(
            sample_url, tmp_path, workers=2, job_lease_s=LEASE_S, publisher_token=PUBLISHER_TOKEN
        ) as base,
        httpx.Client(base_url=base, headers=PUBLISHER, timeout=10) as client,
        locked(sample_url, COUNTIES),  # the job's SQL waits until the worker is killed
    ):
        submitted = client.post(
            "/processes/buffer-zones/execution", json=body, headers={"Prefer": "respond-async"}
        )
        assert submitted.status_code == 201, submitted.text
        job_id = submitted.json()["jobID"]
        backend = wait_for(lambda: _job_backend(sample_url, job_id), "the job never ran")
        assert client.get(f"/jobs/{job_id}").json()["status"] == "running"
        _kill_worker_of(sample_url, backend)
        killed_at = time.monotonic()
        # expiry of the lease renewed last up to a third of it before, + one reaper period
        info = wait_for(
            lambda: _finished(client, job_id),
            "the killed worker's job stayed running",
            timeout=LEASE_S * 2 + 5,
        )
        failed_after = time.monotonic() - killed_at
        assert not backend_alive(sample_url, backend)
    assert info["status"] == "failed", info
    assert "server stopped while this job ran" in info["message"], info
    assert "submit it again" in info["message"], info
    assert failed_after >= LEASE_S / 3, "failed before its lease could have run out"
