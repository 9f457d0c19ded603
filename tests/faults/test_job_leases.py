"""Job leases (migration 0021, ``ogc.processes.lease``) on real rows: what a reaper takes
and — as important with several replicas — what it leaves to the process still alive."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ogc.processes.lease import JobLease, reap, release, renew

PROCESS = f"lease-test-{uuid.uuid4().hex[:8]}"  # no other test's jobs match it


@pytest.fixture
def conn(migrated_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_url, autocommit=True) as connection:
        yield connection
        connection.execute("DELETE FROM onemap.jobs WHERE process_id = %s", (PROCESS,))


def _job(conn: psycopg.Connection, status: str, holder: str, lease_in_s: float) -> str:
    job_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO onemap.jobs (id, process_id, status, request, lease_holder, lease_until) "
        "VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
        (job_id, PROCESS, status, Jsonb({"inputs": {}}), holder, lease_in_s),
    )
    return job_id


def _row(conn: psycopg.Connection, job_id: str) -> tuple[str, str, str, int | None]:
    row = conn.execute(
        "SELECT status, message, lease_holder, failure_status FROM onemap.jobs WHERE id = %s",
        (job_id,),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


def test_a_reaper_fails_and_takes_over_only_what_expired(conn: psycopg.Connection) -> None:
    ours = JobLease(30.0)
    lost_running = _job(conn, "running", "dead-host:1:x", -1)
    live_running = _job(conn, "running", "live-host:2:y", 30)
    lost_waiting = _job(conn, "accepted", "dead-host:1:x", -1)
    live_waiting = _job(conn, "accepted", "live-host:2:y", 30)
    reaped = reap(conn, ours, [PROCESS])
    assert (lost_waiting, PROCESS) in reaped.taken_over
    assert live_waiting not in {job for job, _ in reaped.taken_over}
    status, message, _, failure = _row(conn, lost_running)
    assert status == "failed" and failure == 503
    assert "server stopped while this job ran" in message and "submit it again" in message
    assert "UTC" in message  # when its process last renewed it
    assert _row(conn, live_running)[0] == "running"
    status, _, holder, _ = _row(conn, lost_waiting)
    assert (status, holder) == ("accepted", ours.holder)
    assert _row(conn, live_waiting)[2] == "live-host:2:y"


def test_waiting_jobs_of_processes_this_one_cannot_run_are_left(conn: psycopg.Connection) -> None:
    waiting = _job(conn, "accepted", "dead-host:1:x", -1)
    assert reap(conn, JobLease(30.0), ["another-process"]).taken_over == []
    assert _row(conn, waiting)[2] == "dead-host:1:x"


def test_renewing_keeps_a_job_from_the_reaper(conn: psycopg.Connection) -> None:
    ours = JobLease(30.0)
    job_id = _job(conn, "running", ours.holder, 0.5)
    renew(conn, ours, [job_id])
    conn.execute("SELECT pg_sleep(0.6)")  # past the lease it had
    reap(conn, JobLease(30.0), [PROCESS])
    assert _row(conn, job_id)[0] == "running"
    finished = _job(conn, "successful", "dead-host:1:x", -1)
    renew(conn, ours, [finished])  # a finished job is nobody's any more
    assert _row(conn, finished)[2] == "dead-host:1:x"


def test_a_released_waiting_job_is_taken_over_at_once(conn: psycopg.Connection) -> None:
    """A server stopping in order gives up its queued jobs: the next process does not wait
    for their leases to run out."""
    stopping = JobLease(30.0)
    waiting = _job(conn, "accepted", stopping.holder, 30)
    running = _job(conn, "running", stopping.holder, 30)
    release(conn, [waiting, running])  # only waiting jobs are given up
    next_one = JobLease(30.0)
    assert (waiting, PROCESS) in reap(conn, next_one, [PROCESS]).taken_over
    assert _row(conn, running)[0] == "running"
