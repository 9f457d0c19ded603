"""A dismissed job stops its Python work too; a stopping server interrupts its jobs at once."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.helpers.wait import wait_for

SITES = 400  # each line site's zone takes tens of milliseconds: the job would run for many seconds


def _long_buffer_job() -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {
                "type": "LineString",
                "coordinates": [[113.0 + i * 0.001, 23.0], [113.0 + i * 0.001, 23.01]],
            },
        }
        for i in range(SITES)
    ]
    return {
        "inputs": {
            "sites": {"features": {"type": "FeatureCollection", "features": features}},
            "distance_m": 3000,
        }
    }


def _sessions(url: str, job_id: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (f"onemap-job-{job_id}",),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _start(client: TestClient) -> str:
    response = client.post(
        "/processes/buffer-zones/execution",
        json=_long_buffer_job(),
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["jobID"]

    def at_its_buffers() -> bool:
        info = client.get(f"/jobs/{job_id}").json()
        if info["progress"] >= 10:
            return True
        assert info["status"] in ("accepted", "running"), info
        return False

    wait_for(at_its_buffers, "the job never reached its buffers", timeout=20)
    return job_id


def _wait_gone(url: str, job_id: str, started: float, limit: float) -> float:
    left = started + limit - time.monotonic()
    wait_for(lambda: not _sessions(url, job_id), f"the job still ran {limit} s later", timeout=left)
    return time.monotonic() - started


def test_a_dismissed_job_stops_between_buffers(client: TestClient, sample_url: str) -> None:
    job_id = _start(client)
    started = time.monotonic()
    assert client.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
    assert _wait_gone(sample_url, job_id, started, limit=3) < 3
    assert client.get(f"/jobs/{job_id}").json()["status"] == "dismissed"


def test_a_dismissal_through_another_replica_stops_it(
    client: TestClient, settings: ServiceSettings, sample_url: str
) -> None:
    job_id = _start(client)
    with TestClient(create_app(settings)) as other:  # another replica on the same database
        started = time.monotonic()
        assert other.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
        assert _wait_gone(sample_url, job_id, started, limit=4) < 4


def test_server_shutdown_interrupts_running_jobs(
    settings: ServiceSettings, sample_url: str
) -> None:
    with TestClient(create_app(settings)) as server:
        job_id = _start(server)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3, "shutdown waited for the job"
    _wait_gone(sample_url, job_id, stopping, limit=3)
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            "SELECT status, message, finished_at IS NOT NULL FROM onemap.jobs WHERE id = %s",
            (job_id,),
        ).fetchone()
    assert row is not None
    status, message, finished = row
    assert (status, finished) == ("failed", True)
    assert message.startswith("interrupted: the server stopped")
