"""Jobs survive a restart, are cancellable, and are bounded by the statement timeout."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from layers.settings import ServiceSettings
from ogc.app import create_app
from spatial import DEFAULT_REGISTRY, Analysis, AnalysisResult, Context, OutputSpec
from tests.helpers.wait import wait_for, wait_for_job


class SleepInputs(BaseModel):
    seconds: float = Field(ge=0, le=60)


def run_sleep(inputs: SleepInputs, ctx: Context) -> AnalysisResult:
    ctx.progress(10, "sleeping in the database")
    ctx.connection().execute("SELECT pg_sleep(%s)", (inputs.seconds,))
    return AnalysisResult(values={"slept": inputs.seconds})


SLEEP = Analysis(
    id="sleep",
    title="Sleep",
    description="Holds a statement for a while.",
    domain="planning",
    inputs=SleepInputs,
    outputs={"slept": OutputSpec("value", "Seconds slept")},
    run=run_sleep,
)
REGISTRY = DEFAULT_REGISTRY.register(SLEEP)


def app_with_sleep(settings: ServiceSettings) -> FastAPI:
    return create_app(settings, registry=REGISTRY)


@pytest.fixture()
def fresh_client(settings: ServiceSettings) -> Iterator[TestClient]:
    """A second app on the same database: as after a restart of the service."""
    with TestClient(app_with_sleep(settings)) as test_client:
        yield test_client


def job_sessions(url: str, job_id: str) -> list[Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = %s AND state = 'active'",
            (f"onemap-job-{job_id}",),
        ).fetchall()


def test_running_job_is_cancelled_by_dismissal(fresh_client: TestClient, sample_url: str) -> None:
    response = fresh_client.post(
        "/processes/sleep/execution",
        json={"inputs": {"seconds": 30}},
        headers={"Prefer": "respond-async"},
    )
    job_id = response.json()["jobID"]
    # Sleeping: its progress says so and its statement is active (not just being claimed).
    wait_for(
        lambda: (
            fresh_client.get(f"/jobs/{job_id}").json()["progress"] == 10
            and bool(job_sessions(sample_url, job_id))
        ),
        "the job never started",
    )
    started = time.monotonic()
    assert fresh_client.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
    wait_for(
        lambda: not job_sessions(sample_url, job_id),
        "dismissal did not cancel the statement",
        timeout=5 - (time.monotonic() - started),
    )
    time.sleep(0.2)
    assert fresh_client.get(f"/jobs/{job_id}").json()["status"] == "dismissed"


def test_statement_timeout_bounds_a_job(sample_url: str) -> None:
    settings = ServiceSettings(
        database_url=sample_url, load_sample_data=False, statement_timeout_ms=300
    )
    with TestClient(app_with_sleep(settings)) as client:
        response = client.post("/processes/sleep/execution", json={"inputs": {"seconds": 3}})
        assert response.status_code == 413
        assert "statement timeout of 0.3 s" in response.json()["detail"]
        async_job = client.post(
            "/processes/sleep/execution",
            json={"inputs": {"seconds": 9}},
            headers={"Prefer": "respond-async"},
        ).json()["jobID"]
        info = wait_for_job(client, async_job, timeout=20)  # async jobs get 10× the timeout: 3 s
        assert info["status"] == "failed" and "statement timeout of 3 s" in info["message"]


def test_jobs_survive_a_restart(settings: ServiceSettings, sample_url: str) -> None:
    with TestClient(app_with_sleep(settings)) as first:
        job_id = first.post(
            "/processes/sleep/execution",
            json={"inputs": {"seconds": 0.1}},
            headers={"Prefer": "respond-async"},
        ).json()["jobID"]
        assert wait_for_job(first, job_id)["status"] == "successful"
    orphan, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(sample_url, autocommit=True) as conn:  # a server died mid-job
        for job, status in ((orphan, "running"), (waiting, "accepted")):
            conn.execute(
                "INSERT INTO onemap.jobs (id, process_id, status, request) "
                "VALUES (%s, 'sleep', %s, %s)",
                (job, status, Jsonb({"inputs": {"seconds": 0.1}})),
            )
    with TestClient(app_with_sleep(settings)) as second:
        assert second.get(f"/jobs/{job_id}").json()["status"] == "successful"
        assert second.get(f"/jobs/{job_id}/results").json() == {"slept": 0.1}
        lost = second.get(f"/jobs/{orphan}").json()
        assert lost["status"] == "failed" and "submit it again" in lost["message"]
        assert wait_for_job(second, waiting)["status"] == "successful"


def job_row(url: str, job_id: str) -> tuple[str, str | None]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT status, message FROM onemap.jobs WHERE id = %s", (job_id,))
        found = row.fetchone()
    assert found is not None
    return found[0], found[1]


def test_start_up_recovers_jobs_without_a_request(
    settings: ServiceSettings, sample_url: str
) -> None:
    """A killed server left one job running and one waiting: the next app's start-up alone
    fails the first (with the reason) and runs the second; no request is made."""
    orphan, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(sample_url, autocommit=True) as conn:
        for job, status in ((orphan, "running"), (waiting, "accepted")):
            conn.execute(
                "INSERT INTO onemap.jobs (id, process_id, status, request) "
                "VALUES (%s, 'sleep', %s, %s)",
                (job, status, Jsonb({"inputs": {"seconds": 0.1}})),
            )
    with TestClient(app_with_sleep(settings)):
        status, message = job_row(sample_url, orphan)
        assert status == "failed" and "server stopped while this job ran" in (message or "")
        wait_for(
            lambda: job_row(sample_url, waiting)[0] == "successful",
            lambda: str(job_row(sample_url, waiting)),
            timeout=20,
        )
