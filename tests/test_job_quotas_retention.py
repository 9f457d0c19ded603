"""Job quotas and retention on the run's real PostgreSQL: a caller's open asynchronous jobs
and jobs per day are refused past their limits (429 + Retry-After), counted on the jobs
table every replica shares; finished jobs past ``ONEMAP_JOB_RETENTION`` are purged with
their results by the server's background task and by ``onemap jobs purge`` (then 404),
while jobs still running and layers published from results stay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from layers.access.days import seconds_until_next_day, utc_now
from layers.settings import ServiceSettings
from ogc.app import create_app
from ogc.cli.main import cli
from ogc.processes.lease import JobLease
from tests.access.identify_fixtures import new_key
from tests.gate_fixtures import PUBLIC, publish_gate_layers
from tests.helpers.wait import wait_for, wait_for_job

BUFFER = "/processes/buffer-zones/execution"
ASYNC = {"Prefer": "respond-async"}
JOB = {"inputs": {"sites": {"collection": PUBLIC}, "distance_m": 100}, "outputs": {"zones": {}}}


@pytest.fixture(scope="module")
def quota_client(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    publish_gate_layers(sample_url)
    update = {
        "tile_cache_dir": tmp_path_factory.mktemp("job-quota-tiles"),
        "jobs_max_open": 2,
        "jobs_per_day": 5,
    }
    with TestClient(create_app(settings.model_copy(update=update))) as client:
        wait_for(
            lambda: client.get(f"/collections/{PUBLIC}").status_code == 200,
            "the gate's public layer never appeared",
        )
        yield client


LEASE = JobLease(30.0).params()  # the lease a server process gives the jobs it runs


def _insert_job(url: str, status: str, *, submitter: str | None = None, **times: Any) -> str:
    """A job row as another replica (or an earlier day) left it; ``times``: SQL intervals
    before now for finished_at / created_at."""
    job_id = str(uuid.uuid4())
    ago = {column: f"now() - interval '{interval}'" for column, interval in times.items()}
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO onemap.jobs (id, process_id, status, request, submitter, "
            "published_layer, finished_at, created_at) VALUES (%s, 'buffer-zones', %s, %s, %s, "
            f"%s, {ago.get('finished_at', 'NULL')}, {ago.get('created_at', 'now()')})",
            (job_id, status, Jsonb(JOB), submitter, PUBLIC if status == "successful" else None),
        )
        conn.execute(
            "INSERT INTO onemap.job_results (job_id, output_id, media_type, body) "
            "VALUES (%s, 'zones', 'application/geo+json', %s)",
            (job_id, b'{"type": "FeatureCollection", "features": []}'),
        )
    return job_id


def test_open_jobs_and_jobs_per_day_are_limited_per_caller(
    quota_client: TestClient, sample_url: str
) -> None:
    key, secret = new_key(sample_url)
    mine, submitter = {"X-OneMap-Key": secret}, f"key:{key.id}"
    running = [_insert_job(sample_url, "running", submitter=submitter) for _ in range(2)]
    _insert_job(sample_url, "successful", submitter=submitter, created_at="2 days")

    refused = quota_client.post(BUFFER, json=JOB, headers=mine | ASYNC)
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "10"
    assert "2 jobs accepted or running" in refused.json()["detail"]
    _, other = new_key(sample_url)
    theirs = quota_client.post(BUFFER, json=JOB, headers={"X-OneMap-Key": other} | ASYNC)
    assert theirs.status_code == 201  # another caller's quota
    assert quota_client.post(BUFFER, json=JOB, headers=mine).status_code == 200  # synchronous

    with psycopg.connect(sample_url) as conn:
        conn.execute("UPDATE onemap.jobs SET status = 'successful' WHERE id = ANY(%s)", (running,))
    created = quota_client.post(BUFFER, json=JOB, headers=mine | ASYNC)
    assert created.status_code == 201, created.text
    wait_for_job(_Keyed(quota_client, mine), created.json()["jobID"])
    # Today: 2 inserted + 1 synchronous + 1 asynchronous (the one of 2 days ago is not).
    assert quota_client.post(BUFFER, json=JOB, headers=mine).status_code == 200
    daily = quota_client.post(BUFFER, json=JOB, headers=mine)
    assert daily.status_code == 429, daily.text
    assert abs(int(daily.headers["retry-after"]) - seconds_until_next_day(utc_now())) <= 5
    assert "per day (5)" in daily.json()["detail"]
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM onemap.jobs WHERE submitter = %s AND created_at > now() - "
            "interval '1 day'",
            (submitter,),
        ).fetchone()
    assert row == (5,)  # the refused submissions left no job behind


class _Keyed:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)


def _exists(url: str, job_id: str) -> tuple[bool, int]:
    with psycopg.connect(url) as conn:
        job = conn.execute("SELECT 1 FROM onemap.jobs WHERE id = %s", (job_id,)).fetchone()
        results = conn.execute(
            "SELECT count(*) FROM onemap.job_results WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert results is not None
    return job is not None, int(results[0])


def test_the_server_purges_finished_jobs_past_the_retention(
    settings: ServiceSettings, sample_url: str, tmp_path: Path
) -> None:
    publish_gate_layers(sample_url)
    old = _insert_job(sample_url, "successful", finished_at="8 days", created_at="8 days")
    failed = _insert_job(sample_url, "failed", finished_at="9 days", created_at="9 days")
    recent = _insert_job(sample_url, "successful", finished_at="6 days", created_at="6 days")
    update = {"tile_cache_dir": tmp_path, "job_retention": 7 * 86400.0}
    with TestClient(create_app(settings.model_copy(update=update))) as client:
        wait_for(lambda: not _exists(sample_url, old)[0], "the old job was never purged")
        for suffix in ("", "/results", "/results/zones"):
            assert client.get(f"/jobs/{old}{suffix}").status_code == 404, suffix
        assert client.get(f"/jobs/{failed}").status_code == 404
        assert client.get(f"/jobs/{recent}/results/zones").status_code == 200
        assert client.get(f"/collections/{PUBLIC}").status_code == 200  # its published layer
    assert _exists(sample_url, old) == (False, 0)  # results went with it
    assert _exists(sample_url, recent) == (True, 1)


def test_onemap_jobs_purge(sample_url: str) -> None:
    old = _insert_job(sample_url, "dismissed", finished_at="3 days")
    kept = _insert_job(sample_url, "successful", finished_at="1 day")
    running = _insert_job(sample_url, "running", created_at="30 days")  # never purged
    env = {"ONEMAP_DATABASE_URL": sample_url}
    done = CliRunner().invoke(cli, ["jobs", "purge", "--older-than", "2d"], env=env)
    assert done.exit_code == 0, done.output
    assert "purged" in done.output and "172800 s" in done.output
    assert _exists(sample_url, old) == (False, 0)
    assert _exists(sample_url, kept) == _exists(sample_url, running) == (True, 1)
    bad = CliRunner().invoke(cli, ["jobs", "purge", "--older-than", "soon"], env=env)
    assert bad.exit_code == 2 and "not a duration" in bad.output
    short = CliRunner().invoke(cli, ["jobs", "purge", "--older-than", "5s"], env=env)
    assert short.exit_code == 2 and "shorter than a minute" in short.output


async def test_concurrent_submissions_never_exceed_the_open_jobs_limit(sample_url: str) -> None:
    """Two replicas' submissions at once, for the last free slot: the advisory lock on the
    submitter lets exactly one through."""
    from layers.access.caller import ANONYMOUS
    from layers.db import open_pool_lazily
    from layers.errors import QuotaExceeded
    from ogc.processes.jobs import JobQuota, create_job

    submitter = f"ip:192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"
    quota = JobQuota(submitter, max_open=3, asynchronous=True)
    _insert_job(sample_url, "accepted", submitter=submitter)
    _insert_job(sample_url, "running", submitter=submitter)
    pools = [
        open_pool_lazily(sample_url, min_size=1, max_size=2, statement_timeout_ms=10_000)
        for _ in range(2)
    ]
    for pool in pools:
        await pool.open(wait=True)
    try:
        outcomes = await asyncio.gather(
            *(create_job(p, "buffer-zones", JOB, ANONYMOUS, LEASE, quota) for p in pools * 3),
            return_exceptions=True,
        )
    finally:
        for pool in pools:
            await pool.close()
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert len(refused) == 5 and len(outcomes) == 6, outcomes
    with psycopg.connect(sample_url) as conn:
        # Nobody runs them: no later app's job recovery should pick them up.
        dismiss = "UPDATE onemap.jobs SET status = 'dismissed' WHERE submitter = %s"
        conn.execute(dismiss, (submitter,))
