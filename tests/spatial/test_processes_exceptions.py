"""OGC API – Processes exception types and statuses; /jobs paging parameters are checked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from tests.helpers.wait import wait_for, wait_for_job
from tests.spatial.test_jobs_lifecycle import app_with_sleep

BASE = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
INVALID_QUERY = "https://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
INVALID_QUERY += "invalid-query-parameter-value"


@pytest.fixture(scope="module")
def sleepy(settings: ServiceSettings) -> Iterator[TestClient]:
    with TestClient(app_with_sleep(settings)) as test_client:
        yield test_client


def _problem(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == kind, body
    assert body["status"] == status
    return str(body["detail"])


def test_unknown_processes_and_jobs(sleepy: TestClient) -> None:
    _problem(sleepy.get("/processes/no-such"), 404, BASE + "no-such-process")
    executed = sleepy.post("/processes/no-such/execution", json={"inputs": {}})
    _problem(executed, 404, BASE + "no-such-process")
    for path in ("/jobs/not-a-uuid", f"/jobs/{uuid.uuid4()}", f"/jobs/{uuid.uuid4()}/results"):
        _problem(sleepy.get(path), 404, BASE + "no-such-job")
    _problem(sleepy.delete(f"/jobs/{uuid.uuid4()}"), 404, BASE + "no-such-job")


def _async(client: TestClient, process: str, inputs: dict[str, object]) -> str:
    response = client.post(
        f"/processes/{process}/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["jobID"])


def test_results_not_ready_not_available_and_no_such_output(sleepy: TestClient) -> None:
    running = _async(sleepy, "sleep", {"seconds": 20})
    wait_for(
        lambda: sleepy.get(f"/jobs/{running}").json()["status"] != "accepted",
        f"job {running} was never started",
    )
    _problem(sleepy.get(f"/jobs/{running}/results"), 404, BASE + "result-not-ready")
    sleepy.delete(f"/jobs/{running}")
    _problem(sleepy.get(f"/jobs/{running}/results"), 404, BASE + "result-not-available")
    done = _async(sleepy, "sleep", {"seconds": 0})
    assert wait_for_job(sleepy, done)["status"] == "successful"
    _problem(sleepy.get(f"/jobs/{done}/results/nothing"), 404, BASE + "no-such-output")


def test_a_failed_jobs_results_answer_with_its_failure(sleepy: TestClient) -> None:
    """Inputs that only fail while running (an unknown field): the results say 400."""
    job = _async(
        sleepy,
        "interpolation",
        {"readings": {"collection": "synthetic-stations"}, "value_field": "no_such"},
    )
    info = wait_for_job(sleepy, job)
    assert info["status"] == "failed"
    detail = _problem(sleepy.get(f"/jobs/{job}/results"), 400, "https://httpstatuses.io/400")
    assert "value_field" in detail and "no_such" in detail


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("offset=99999999999999999999", "offset"),
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=1e3", "limit"),
        ("limit=99999999999999999999999", "limit"),
    ],
)
def test_jobs_paging_parameters_are_400s_naming_them(
    sleepy: TestClient, query: str, name: str
) -> None:
    detail = _problem(sleepy.get(f"/jobs?{query}"), 400, INVALID_QUERY)
    assert detail.startswith(f"{name}:")


def test_jobs_paging_within_range(sleepy: TestClient) -> None:
    assert sleepy.get("/jobs?limit=1&offset=0").status_code == 200
    assert sleepy.get("/jobs?offset=1000000000").json()["jobs"] == []
