"""A synchronous process run is bounded as a whole by its time limit, not statement by
statement (issue 16: a run lasted 32.6 s under a 30 s timeout); and the admission of
heavy work, on its own, lets ``limit`` run, ``queue`` wait, and sheds the rest at once."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from layers.admission import Admission
from layers.errors import Overloaded
from layers.settings import ServiceSettings
from ogc.app import create_app
from spatial import DEFAULT_REGISTRY, Analysis, AnalysisResult, Context, OutputSpec
from tests.helpers.wait import wait_for

LIMIT_MS = 1000
NAP_S = 20.0  # far beyond the limit: an answer before it means the run was cut


class NapInputs(BaseModel):
    seconds: float = Field(ge=0, le=60)
    statements: bool = True  # many short statements (each far below the statement timeout)
    checkpoints: bool = True  # Python that reaches a checkpoint now and then


def run_nap(inputs: NapInputs, ctx: Context) -> AnalysisResult:
    deadline = time.monotonic() + inputs.seconds
    while time.monotonic() < deadline:
        if inputs.statements:
            ctx.connection().execute("SELECT pg_sleep(0.2)")
        else:
            time.sleep(0.05)
        if inputs.checkpoints:
            ctx.checkpoint()
    return AnalysisResult(values={"napped": inputs.seconds})


NAP = Analysis(
    id="nap",
    title="Nap",
    description="Short statements, or plain Python, for a while.",
    domain="planning",
    inputs=NapInputs,
    outputs={"napped": OutputSpec("value", "Seconds napped")},
    run=run_nap,
)


@pytest.mark.parametrize(
    "inputs",
    [
        {"statements": True, "checkpoints": False},  # only SQL: cancelled at the limit
        {"statements": False, "checkpoints": True},  # only Python: stopped at a checkpoint
        {"statements": False, "checkpoints": False},  # neither: answered at the limit anyway
    ],
    ids=["sql", "python", "no checkpoints"],
)
def test_a_synchronous_run_ends_at_its_time_limit(sample_url: str, inputs: dict[str, bool]) -> None:
    settings = ServiceSettings(
        database_url=sample_url, load_sample_data=False, statement_timeout_ms=LIMIT_MS
    )
    app = create_app(settings, registry=DEFAULT_REGISTRY.register(NAP))
    with TestClient(app) as client:
        started = time.monotonic()
        response = client.post(
            "/processes/nap/execution", json={"inputs": {"seconds": NAP_S} | inputs}
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 413, response.text
        assert "statement timeout of 1 s" in response.json()["detail"]
        assert elapsed < NAP_S / 2, f"the run went on for {elapsed:.1f} s"
        job = response.headers.get("x-onemap-job") or _latest_nap(sample_url)
        if inputs["statements"] or inputs["checkpoints"]:  # the job row says why it stopped
            # (before the app stops: a shutdown first would record "interrupted" instead)
            status, message = wait_for(lambda: _finished(sample_url, job), "job still running")
            assert status == "failed" and "statement timeout of 1 s" in message


def _finished(url: str, job: str) -> tuple[str, str] | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT status, message FROM onemap.jobs WHERE id = %s", (job,))
        found = row.fetchone()
    return (str(found[0]), str(found[1] or "")) if found and found[0] != "running" else None


def _latest_nap(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT id FROM onemap.jobs WHERE process_id = 'nap' ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_admission_runs_the_limit_queues_briefly_and_sheds_the_rest() -> None:
    async def scenario() -> tuple[list[str], int]:
        admission = Admission(limit=2, queue=1, wait_s=0.2)
        release = asyncio.Event()
        outcomes: list[str] = []

        async def heavy(name: str) -> None:
            try:
                async with admission.slot():
                    outcomes.append(f"{name} ran")
                    await release.wait()
            except Overloaded:
                outcomes.append(f"{name} shed")

        running = [asyncio.create_task(heavy(n)) for n in ("a", "b")]
        await asyncio.sleep(0)
        waiting = asyncio.create_task(heavy("c"))  # queued
        await asyncio.sleep(0)
        await heavy("d")  # the queue is full: shed at once, without waiting
        await asyncio.sleep(0.3)  # c's wait runs out
        release.set()
        await asyncio.gather(*running, waiting)
        async with admission.slot():  # free again
            outcomes.append("e ran")
        return outcomes, admission.shed

    outcomes, shed = asyncio.run(scenario())
    assert outcomes == ["a ran", "b ran", "d shed", "c shed", "e ran"]
    assert shed == 2
