"""Jobs in PostgreSQL (``onemap.jobs``): create, read, list, results, dismiss.

Every replica reads the same rows, so a job submitted to one replica can be followed,
fetched or dismissed through any other, and survives a restart of the app.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ogc.http.links import JSON, link
from ogc.processes.exceptions import NoSuchJob

APPLICATION_PREFIX = "onemap-job-"
INSERT = """
    INSERT INTO onemap.jobs (id, process_id, request, caller) VALUES (%s, %s, %s, %s)
    RETURNING id, process_id, status, message, progress, created_at, started_at, finished_at,
              updated_at, published_layer, lineage, failure_status, failure_type"""
# A job names layers in its request (inputs, publish target: every "collection" member),
# its lineage (the versions it read) and its published layer; a caller sees a job only when
# none of them is a layer hidden from them (the gate's ``hidden_layer_ids``, bound as %s).
SELECT_ONE = """
    SELECT id, process_id, status, message, progress, created_at, started_at, finished_at,
           updated_at, published_layer, lineage, failure_status, failure_type
    FROM onemap.jobs AS j
    WHERE id = %s AND NOT (ARRAY(
        SELECT ref #>> '{}' FROM jsonb_path_query(j.request, 'lax $.**.collection') AS ref
        UNION ALL
        SELECT ref #>> '{}' FROM jsonb_path_query(j.lineage, 'lax $[*].layer') AS ref
    ) || j.published_layer) && %s::text[]"""
SELECT_PAGE = """
    SELECT id, process_id, status, message, progress, created_at, started_at, finished_at,
           updated_at, published_layer, lineage, failure_status, failure_type
    FROM onemap.jobs AS j
    WHERE NOT (ARRAY(
        SELECT ref #>> '{}' FROM jsonb_path_query(j.request, 'lax $.**.collection') AS ref
        UNION ALL
        SELECT ref #>> '{}' FROM jsonb_path_query(j.lineage, 'lax $[*].layer') AS ref
    ) || j.published_layer) && %s::text[]
    ORDER BY created_at DESC LIMIT %s OFFSET %s"""
SELECT_RESULTS = """
    SELECT output_id, media_type, body FROM onemap.job_results WHERE job_id = %s
    ORDER BY output_id"""
DISMISS = """
    UPDATE onemap.jobs SET status = 'dismissed', message = 'dismissed by the client',
           finished_at = COALESCE(finished_at, now()), updated_at = now()
    WHERE id = %s
    RETURNING id, process_id, status, message, progress, created_at, started_at, finished_at,
              updated_at, published_layer, lineage, failure_status, failure_type"""
DELETE_RESULTS = "DELETE FROM onemap.job_results WHERE job_id = %s"
CANCEL_BACKEND = "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = %s"


@dataclass(frozen=True)
class Job:
    id: str
    process_id: str
    status: str
    message: str
    progress: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    published_layer: str | None
    lineage: list[dict[str, Any]]
    failure_status: int | None = None
    failure_type: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(**(row | {"id": str(row["id"])}))

    def status_info(self, base: str) -> dict[str, Any]:
        href = f"{base}/jobs/{self.id}"
        links = [
            link(href, "self", JSON, "This job"),
            link(f"{base}/processes/{self.process_id}", "process", JSON, "Its process"),
        ]
        if self.status == "successful":
            links.append(
                link(
                    f"{href}/results",
                    "http://www.opengis.net/def/rel/ogc/1.0/results",
                    JSON,
                    "Results",
                )
            )
        if self.published_layer:
            links.append(
                link(
                    f"{base}/collections/{self.published_layer}",
                    "describedby",
                    JSON,
                    "The published result layer",
                )
            )
        info: dict[str, Any] = {
            "jobID": self.id,
            "processID": self.process_id,
            "type": "process",
            "status": self.status,
            "message": self.message,
            "progress": self.progress,
            "created": self.created_at.isoformat(),
            "updated": self.updated_at.isoformat(),
            "links": links,
            "onemap:lineage": self.lineage,
        }
        if self.started_at:
            info["started"] = self.started_at.isoformat()
        if self.finished_at:
            info["finished"] = self.finished_at.isoformat()
        return info


def parse_job_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise NoSuchJob(f"job '{text[:80]}' does not exist (job ids are UUIDs)") from None


async def create_job(
    pool: AsyncConnectionPool, process_id: str, request: dict[str, Any], caller: str
) -> Job:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(INSERT, (uuid.uuid4(), process_id, Jsonb(request), caller))
        row = await cur.fetchone()
    assert row is not None
    return Job.from_row(row)


async def get_job(pool: AsyncConnectionPool, job_id: str, hidden: Sequence[str]) -> Job:
    """The job ``job_id`` unless it names a layer of ``hidden`` (then it does not exist)."""
    job_id = parse_job_id(job_id)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SELECT_ONE, (job_id, list(hidden)))
        row = await cur.fetchone()
    if row is None:
        raise NoSuchJob(f"job '{job_id}' does not exist; see /jobs")
    return Job.from_row(row)


async def list_jobs(
    pool: AsyncConnectionPool, limit: int, offset: int, hidden: Sequence[str]
) -> list[Job]:
    """A page of the jobs that name no layer of ``hidden``, newest first."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SELECT_PAGE, (list(hidden), limit, offset))
        rows = await cur.fetchall()
    return [Job.from_row(r) for r in rows]


async def job_results(pool: AsyncConnectionPool, job_id: str) -> list[tuple[str, str, bytes]]:
    async with pool.connection() as conn:
        cur = await conn.execute(SELECT_RESULTS, (job_id,))
        rows = await cur.fetchall()
    return [(r[0], r[1], bytes(r[2])) for r in rows]


async def dismiss_job(pool: AsyncConnectionPool, job_id: str, hidden: Sequence[str]) -> Job:
    """Mark dismissed, drop the results and cancel the job's running statement, if any."""
    await get_job(pool, job_id, hidden)
    async with pool.connection() as conn:
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(DISMISS, (job_id,))
            row = await cur.fetchone()
            await cur.execute(DELETE_RESULTS, (job_id,))
        await conn.execute(CANCEL_BACKEND, (APPLICATION_PREFIX + job_id,))
    assert row is not None
    return Job.from_row(row)
