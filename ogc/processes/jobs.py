"""Jobs in PostgreSQL (``onemap.jobs``): create, read, list, results, dismiss.

Every replica reads the same rows, so a job submitted to one replica can be followed,
fetched or dismissed through any other, and survives a restart of the app. A job belongs
to the caller who submitted it: only they (and admins) see, read and dismiss it, and it
runs as them (``owner_from``), whichever replica picks it up.

Job quotas (``JobQuota``) are checked on the same rows when a job is created: the
submitter's open and today's jobs are counted under a transaction-level advisory lock on
the submitter, so two replicas cannot both admit the last job. Finished jobs older than
the retention are purged with their results (``purge_jobs``); layers published from them
stay (a job only names its layer).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, cast

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from layers.access.caller import Caller, CallerKind, Role
from layers.access.days import next_midnight, seconds_until_next_day, utc_now
from layers.errors import QuotaExceeded
from ogc.gate.ownership import JobScope
from ogc.http.links import JSON, link
from ogc.processes.exceptions import NoSuchJob

APPLICATION_PREFIX = "onemap-job-"
CANCEL_BACKEND = "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
# The link from a job to the execute request it was made from (GET /jobs/{id}/request).
# OGC API – Processes Part 1 registers no relation for it; an extension relation (a URI of
# the onemap scheme, as RFC 8288 allows), documented in ADR 0005.
REQUEST_REL = "onemap:request"
OPEN_RETRY_S = 10  # a caller at their open-jobs limit asks again after about a job's time


@functools.cache
def processes_sql(name: str) -> bytes:
    """The fixed SQL of jobs and result publishing (``ogc/processes/sql/<name>.sql``)."""
    return (resources.files("ogc.processes") / "sql" / f"{name}.sql").read_bytes()


def owner_params(caller: Caller) -> dict[str, Any]:
    """The owner columns of a job ``caller`` submits (``layers/migrations/0010``)."""
    return {
        "owner_kind": caller.kind,
        "owner_subject": caller.subject,
        "owner_departments": sorted(caller.departments),
        "owner_roles": sorted(caller.roles),
        "owner_areas": list(caller.areas),
    }


def owner_from(
    kind: str, subject: str | None, departments: list[str], roles: list[str], areas: list[str]
) -> Caller:
    """The caller a job runs as, from the owner it recorded (a job outlives its request)."""
    return Caller(
        kind=cast(CallerKind, kind),
        subject=subject,
        departments=frozenset(departments),
        roles=frozenset(cast(list[Role], roles)),
        areas=tuple(areas),
    )


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
    parameters: dict[str, Any] | None = None  # the parsed inputs (migration 0023)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(**(row | {"id": str(row["id"])}))

    def status_info(self, base: str) -> dict[str, Any]:
        href = f"{base}/jobs/{self.id}"
        links = [
            link(href, "self", JSON, "This job"),
            link(f"{base}/processes/{self.process_id}", "process", JSON, "Its process"),
            link(f"{href}/request", REQUEST_REL, JSON, "The execute request as submitted"),
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
            "onemap:parameters": self.parameters,
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


@dataclass(frozen=True)
class JobQuota:
    """How many jobs ``submitter`` (a rate-limit identity, ``layers.access.rates``) may have
    accepted or running at once (``max_open``, checked when ``asynchronous``) and submit per
    China Standard Time day (``per_day``); 0 = no limit, ``submitter`` None = none at all."""

    submitter: str | None
    max_open: int = 0
    per_day: int = 0
    asynchronous: bool = False


async def create_job(
    pool: AsyncConnectionPool,
    process_id: str,
    request: dict[str, Any],
    owner: Caller,
    lease: dict[str, object],
    quota: JobQuota | None = None,
) -> Job:
    """A new job of ``process_id``, owned by (and later run as) ``owner``, leased to the
    process that runs it (``JobLease.params``), or ``QuotaExceeded`` when the submitter's
    job quota is used."""
    quota = quota or JobQuota(None)
    params = {"id": uuid.uuid4(), "process_id": process_id, "request": Jsonb(request)}
    params |= owner_params(owner) | {"submitter": quota.submitter} | lease
    async with (
        pool.connection() as conn,
        conn.transaction(),
        conn.cursor(row_factory=dict_row) as cur,
    ):
        await _check_quota(cur, quota)
        await cur.execute(processes_sql("insert_job"), params)
        row = await cur.fetchone()
    assert row is not None
    return Job.from_row(row)


async def _check_quota(cur: Any, quota: JobQuota) -> None:
    if quota.submitter is None or not (quota.per_day or (quota.max_open and quota.asynchronous)):
        return
    now = utc_now()
    day_start = next_midnight(now) - timedelta(days=1)  # today's, in Asia/Shanghai
    await cur.execute(processes_sql("lock_submitter"), {"submitter": quota.submitter})
    await cur.execute(
        processes_sql("submitter_jobs"), {"submitter": quota.submitter, "day_start": day_start}
    )
    counts = await cur.fetchone()
    if quota.per_day and counts["today"] >= quota.per_day:
        raise QuotaExceeded(
            f"{counts['today']} jobs were submitted today by this caller, the most allowed "
            f"per day ({quota.per_day}); it resets at midnight China Standard Time",
            seconds_until_next_day(now),
        )
    if quota.asynchronous and quota.max_open and counts["open"] >= quota.max_open:
        raise QuotaExceeded(
            f"this caller has {counts['open']} jobs accepted or running, the most allowed at "
            f"once ({quota.max_open}); wait for one to finish or dismiss one (DELETE /jobs/ID)",
            OPEN_RETRY_S,
        )


async def purge_jobs(conn: AsyncConnection[Any], older_than_s: float) -> int:
    """Delete jobs that finished more than ``older_than_s`` seconds ago, and their results
    (by the foreign key's cascade); how many. Jobs still accepted or running are kept."""
    cur = await conn.execute(processes_sql("purge_jobs"), {"older_than_s": older_than_s})
    return cur.rowcount


async def get_job(
    pool: AsyncConnectionPool, job_id: str, whose: JobScope, hidden: Sequence[str]
) -> Job:
    """The job ``job_id`` if ``whose`` covers its owner and it names no layer of ``hidden``
    (else it does not exist for the caller)."""
    job_id = parse_job_id(job_id)
    params = {"id": job_id, "hidden": list(hidden)} | whose.params()
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(processes_sql("job_by_id"), params)
        row = await cur.fetchone()
    if row is None:
        raise NoSuchJob(f"job '{job_id}' does not exist; see /jobs")
    return Job.from_row(row)


async def list_jobs(
    pool: AsyncConnectionPool, limit: int, offset: int, whose: JobScope, hidden: Sequence[str]
) -> list[Job]:
    """A page of the caller's jobs (``whose``) that name no layer of ``hidden``, newest first."""
    params = {"hidden": list(hidden), "limit": limit, "offset": offset} | whose.params()
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(processes_sql("jobs_page"), params)
        rows = await cur.fetchall()
    return [Job.from_row(r) for r in rows]


async def job_request(
    pool: AsyncConnectionPool, job_id: str, whose: JobScope, hidden: Sequence[str]
) -> dict[str, Any]:
    """The execute request of ``job_id`` as submitted, for whoever may see the job (the
    rule of ``get_job``; a 404 for anyone else)."""
    job = await get_job(pool, job_id, whose, hidden)
    async with pool.connection() as conn:
        cur = await conn.execute(processes_sql("job_request"), {"id": job.id})
        row = await cur.fetchone()
    if row is None:  # purged between the two reads
        raise NoSuchJob(f"job '{job.id}' does not exist; see /jobs")
    request: dict[str, Any] = row[0]
    return request


async def job_results(pool: AsyncConnectionPool, job_id: str) -> list[tuple[str, str, bytes]]:
    async with pool.connection() as conn:
        cur = await conn.execute(processes_sql("job_results"), {"id": job_id})
        rows = await cur.fetchall()
    return [(r[0], r[1], bytes(r[2])) for r in rows]


async def dismiss_job(
    pool: AsyncConnectionPool, job_id: str, whose: JobScope, hidden: Sequence[str]
) -> Job:
    """Mark dismissed, drop the results and cancel the job's running statement, if any."""
    job = await get_job(pool, job_id, whose, hidden)
    async with pool.connection() as conn:
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(processes_sql("dismiss_job"), {"id": job.id})
            row = await cur.fetchone()
            await cur.execute(processes_sql("delete_job_results"), {"id": job.id})
        await conn.execute(CANCEL_BACKEND, (APPLICATION_PREFIX + job.id,))
    assert row is not None
    return Job.from_row(row)
