"""A process run's memory and time bounds (issues 16 and 17): a run estimated above the
memory bound is a 413 naming the input before a job exists; an estimate matches the
measured peak; an asynchronous job past its wall-clock limit fails with the reason, its
heavy part (Python with no checkpoint, in a child) stopped; a run past a tiny memory bound
fails alone while the server answers and its own memory stays flat."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from layers.settings import ServiceSettings
from ogc.app import create_app
from spatial import DEFAULT_REGISTRY, Analysis, AnalysisResult, Context, OutputSpec
from spatial.interpolation import interpolate, interpolation_bytes
from spatial.isolate import Isolation
from tests.helpers import heavy
from tests.helpers.wait import wait_for_job

STATIONS = {"collection": "synthetic-stations"}
BOUND_MB = 200
FITS_MB = 96  # whole 16 MB chunks, half the bound
LIMIT_S = 3  # the jobs' wall-clock limit: a child starts and fills its bound well within it


def _jobs(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM onemap.jobs").fetchone()
    return int(row[0]) if row else 0


def test_a_run_over_the_memory_bound_is_refused_before_a_job_exists(
    client: TestClient, sample_url: str
) -> None:
    before = _jobs(sample_url)
    inputs = {"readings": STATIONS, "value_field": "pm25", "cell_m": 20, "neighbours": 64}
    started = time.monotonic()
    response = client.post("/processes/interpolation/execution", json={"inputs": inputs})
    elapsed = time.monotonic() - started
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert detail.startswith("interpolation: cell_m: this run would need about")
    assert "× 64 neighbours" in detail and "4,096 MB" in detail
    assert "larger cell_m" in detail
    assert _jobs(sample_url) == before  # refused before any job row
    assert elapsed < 5


def test_the_interpolation_estimate_covers_its_measured_peak() -> None:
    """The estimate against tracemalloc's peak of the same run: at or above it, by < 30 %."""
    rng = np.random.default_rng(7)
    readings = gpd.GeoDataFrame(
        {"v": rng.random(200)},
        geometry=shapely.points(rng.uniform(112, 115, 200), rng.uniform(22, 24, 200)),
        crs=4490,
    )
    for k in (8, 48):
        tracemalloc.start()
        surface = interpolate(readings, "v", cell_m=4000, neighbours=k)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        estimate = interpolation_bytes("idw", surface.data.size, len(readings), k)
        assert peak <= estimate <= 1.3 * peak, (k, peak, estimate)


class HeavyInputs(BaseModel):
    hold_mb: int = Field(0, ge=0)
    nap_s: float = Field(0, ge=0)


def run_heavy(inputs: HeavyInputs, ctx: Context) -> AnalysisResult:
    held = ctx.compute(heavy.hold, inputs.hold_mb)
    napped = ctx.compute(heavy.nap, inputs.nap_s)
    return AnalysisResult(values={"held_mb": held, "napped": napped})


HEAVY = Analysis(
    id="heavy",
    title="Heavy",
    description="Memory held, then a nap, in the heavy part.",
    domain="planning",
    inputs=HeavyInputs,
    outputs={"held_mb": OutputSpec("value", "MB"), "napped": OutputSpec("value", "s")},
    run=run_heavy,
)


@pytest.fixture(scope="module")
def bounded(sample_url: str) -> Iterator[TestClient]:
    settings = ServiceSettings(
        database_url=sample_url,
        load_sample_data=False,
        job_timeout_s=LIMIT_S,
        process_max_memory_mb=BOUND_MB,
        jobs_max_open=0,
    )
    Isolation.warm()  # its imports (seconds on a busy machine) are not the jobs' time
    with TestClient(create_app(settings, registry=DEFAULT_REGISTRY.register(HEAVY))) as c:
        yield c


def _submit(client: TestClient, inputs: dict[str, float]) -> str:
    response = client.post(
        "/processes/heavy/execution", json={"inputs": inputs}, headers={"Prefer": "respond-async"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["jobID"])


def test_a_job_over_its_time_limit_fails_with_the_reason(bounded: TestClient) -> None:
    started = time.monotonic()
    info = wait_for_job(bounded, _submit(bounded, {"nap_s": 30}), timeout=20)
    assert info["status"] == "failed"
    assert info["message"].startswith(
        f"the job exceeded its time limit (ONEMAP_JOB_TIMEOUT_S) of {LIMIT_S} s"
    )
    assert time.monotonic() - started < 10  # the child's nap (no checkpoint) was cut


def test_a_run_over_a_tiny_memory_bound_fails_alone(bounded: TestClient) -> None:
    rss_before = _rss_mb()
    job = _submit(bounded, {"hold_mb": 4 * BOUND_MB})
    assert bounded.get("/collections").status_code == 200  # the server answers meanwhile
    info = wait_for_job(bounded, job, timeout=20)
    assert info["status"] == "failed"
    assert f"the run exceeded {BOUND_MB} MB" in info["message"], info
    assert _rss_mb() - rss_before < BOUND_MB / 2  # the 800 MB were never the server's
    fits = wait_for_job(bounded, _submit(bounded, {"hold_mb": FITS_MB}), timeout=20)
    assert fits["status"] == "successful", fits  # the next run is unaffected
    results = bounded.get(f"/jobs/{fits['jobID']}/results").json()
    assert results["held_mb"] == FITS_MB


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")
