"""OGC API – Processes 1.0: ``/processes``, execution (sync and async), ``/jobs``.

Processes come from ``spatial``'s analysis registry. Every execution is a job row in
PostgreSQL — synchronous ones too, so their results stay retrievable — and runs in a worker
thread on its own session with a statement timeout (longer for asynchronous jobs).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from layers.access.caller import Caller
from layers.errors import InvalidParameter, OneMapError
from ogc.common.audit import audited
from ogc.common.upload_checks import known_departments
from ogc.deps import (
    HEAVY,
    BaseUrlDep,
    CallerDep,
    HiddenLayersDep,
    PoolDep,
    RegistryDep,
    RunnerDep,
    StateDep,
)
from ogc.gate.ownership import jobs_of
from ogc.http.links import JSON, link
from ogc.openapi.params import COUNT_0_1E9, COUNT_1_1000
from ogc.processes import jobs as job_store
from ogc.processes.bounds import check_run_cost
from ogc.processes.describe import process_description, process_summary
from ogc.processes.encode import EncodedOutput, results_document, selected_outputs
from ogc.processes.exceptions import (
    MAX_OFFSET,
    JobFailed,
    NoSuchOutput,
    NoSuchProcess,
    ResultNotAvailable,
    ResultNotReady,
    count_parameter,
)
from ogc.processes.publish import PUBLISHABLE, PublishRequest, check_may_publish
from ogc.processes.runner import InternalJobError, JobRunner, Outcome, time_limit_error
from spatial import AnalysisRegistry
from spatial.errors import check_finite
from spatial.inputs import check_raster_paths
from spatial.registry import Analysis, describe_validation

router = APIRouter(tags=["Processes"])
ProcessId = Annotated[str, PathParam(alias="processId", description="Process id")]
JobId = Annotated[str, PathParam(alias="jobId", description="Job id (UUID)")]


class ExecuteRequest(BaseModel):
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = Field(None, description="Subset of outputs to return")
    response: Literal["raw", "document"] = "raw"
    publish: dict[str, Any] | None = Field(
        None,
        description="Keep a features or raster output as a new layer: {collection, output, title}",
    )


@router.get("/processes", summary="The analyses offered as processes")
def list_processes(registry: RegistryDep, base: BaseUrlDep) -> dict[str, Any]:
    return {
        "processes": [process_summary(a, base) for a in registry],
        "links": [link(f"{base}/processes", "self", JSON, "Processes")],
    }


@router.get("/processes/{processId}", summary="One process: inputs and outputs (JSON Schema)")
def describe_process(registry: RegistryDep, base: BaseUrlDep, process_id: ProcessId) -> Any:
    return process_description(_process(registry, process_id), base)


def _process(registry: AnalysisRegistry, process_id: str) -> Analysis[Any]:
    if process_id not in registry.analyses:
        raise NoSuchProcess(
            f"process '{process_id[:80]}' does not exist; see /processes for the list"
        )
    return registry.get(process_id)


def _validated(
    analysis: Analysis[Any], body: ExecuteRequest, roots: tuple[Path, ...] | None
) -> None:
    """Reject a bad request before a job exists: inputs (raster paths outside ``roots``),
    outputs and publish target."""
    check_finite({"outputs": body.outputs or {}, "publish": body.publish or {}})
    check_raster_paths(analysis.parse(body.inputs), roots)
    selected_outputs(analysis, list(body.outputs or {}))
    if body.publish is not None:
        try:
            publish = PublishRequest.model_validate(body.publish)
        except ValidationError as exc:
            raise InvalidParameter(f"publish: {describe_validation(exc)}") from None
        spec = analysis.outputs.get(publish.output)
        if spec is None or spec.kind not in PUBLISHABLE:
            raise InvalidParameter(
                f"publish.output must be a features or raster output of {analysis.id}: "
                f"{[k for k, v in analysis.outputs.items() if v.kind in PUBLISHABLE]}"
            )


async def _check_publish_target(state: StateDep, publish: dict[str, Any], caller: Caller) -> None:
    """403/409/400 before a job exists when the caller may not publish the result there
    (checked again at publish time, on the database's rows)."""
    if state.store is None or not state.store.loaded:
        return
    layer_id = publish["collection"]
    existing = state.store.current.layers.get(layer_id)
    target = None if existing is None else (dict(existing.metadata), existing.department_id)
    known = await run_in_threadpool(known_departments, state.database_url)
    check_may_publish(layer_id, target, caller, publish.get("department"), known)


@router.post(
    "/processes/{processId}/execution",
    summary="Execute a process (add 'Prefer: respond-async' for a job)",
    status_code=200,
    dependencies=[HEAVY],  # a synchronous run holds a worker thread and a session
)
async def execute(
    request: Request,
    body: ExecuteRequest,
    registry: RegistryDep,
    runner: RunnerDep,
    pool: PoolDep,
    state: StateDep,
    caller: CallerDep,
    base: BaseUrlDep,
    process_id: ProcessId,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    analysis = _process(registry, process_id)
    _validated(analysis, body, runner.raster_roots_of(caller))
    if body.publish is not None:  # a write: refused (and audited) before a job exists
        target = body.publish["collection"]
        async with audited(pool, request, caller, "layer.publish", target, refusals_only=True):
            await _check_publish_target(state, body.publish, caller)
    await run_in_threadpool(check_run_cost, runner, analysis, body.inputs, caller)
    asynchronous = bool(prefer and "respond-async" in prefer)
    quota = _job_quota(state, request, caller, asynchronous)
    # the job is the caller's, and runs as them: inputs they may not see do not exist
    job = await job_store.create_job(
        pool, analysis.id, body.model_dump(), caller, runner.lease.params(), quota
    )
    if asynchronous:
        runner.submit(job.id, analysis)
        return JSONResponse(
            job.status_info(base),
            status_code=201,
            headers={"Location": f"{base}/jobs/{job.id}", "Preference-Applied": "respond-async"},
        )
    outcome = await _run_bounded(runner, job.id, analysis, state.settings.statement_timeout_ms)
    if isinstance(outcome.error, OneMapError):
        raise outcome.error
    if outcome.error is not None:  # a bug: a 500 answered like any error, the connection kept
        raise InternalJobError(
            f"process {analysis.id} failed with an internal error (job {job.id}); "
            "the server log has the details"
        )
    return _results_response(outcome.outputs, body.response, f"{base}/jobs/{job.id}", job.id)


def _job_quota(
    state: StateDep, request: Request, caller: Caller, asynchronous: bool
) -> job_store.JobQuota:
    """The caller's job quota (ONEMAP_JOBS_*), counted per rate-limit identity: anonymous
    callers by address, everyone else by who they are."""
    client = request.client.host if request.client else None
    s = state.settings
    return job_store.JobQuota(
        submitter=state.callers.rates.identity_of(caller, client),
        max_open=s.jobs_max_open,
        per_day=s.jobs_per_day,
        asynchronous=asynchronous,
    )


SYNC_GRACE_S = 1.0  # for the job's thread to stop at its time limit and record why


async def _run_bounded(
    runner: JobRunner, job_id: str, analysis: Analysis[Any], timeout_ms: int
) -> Outcome:
    """A synchronous run, answered within its time limit whatever it does: the runner stops
    it at the limit (``JobRunner.run_sync``); Python that reaches no checkpoint is left to
    finish in its thread while the caller gets the time-limit error."""
    run = asyncio.ensure_future(run_in_threadpool(runner.run_sync, job_id, analysis, timeout_ms))
    try:
        return await asyncio.wait_for(asyncio.shield(run), timeout_ms / 1000 + SYNC_GRACE_S)
    except TimeoutError:
        raise time_limit_error(timeout_ms) from None


def _results_response(
    outputs: list[EncodedOutput], mode: str, job_href: str, job_id: str
) -> Response:
    headers = {"Link": f'<{job_href}>; rel="monitor"', "X-OneMap-Job": job_id}
    if mode == "raw" and len(outputs) == 1:
        only = outputs[0]
        return Response(only.body, media_type=only.media_type, headers=headers | only.headers)
    return JSONResponse(results_document(outputs, job_href), headers=headers)


@router.get("/jobs", summary="Jobs, newest first")
async def list_jobs(
    pool: PoolDep,
    base: BaseUrlDep,
    caller: CallerDep,
    hidden: HiddenLayersDep,
    limit: Annotated[
        str | None,
        Query(description="Jobs per page, 1..1000", json_schema_extra=COUNT_1_1000),
    ] = None,
    offset: Annotated[
        str | None, Query(description="Jobs to skip, 0..1e9", json_schema_extra=COUNT_0_1E9)
    ] = None,
) -> dict[str, Any]:
    jobs = await job_store.list_jobs(
        pool,
        count_parameter("limit", limit, 100, 1, 1000),
        count_parameter("offset", offset, 0, 0, MAX_OFFSET),
        jobs_of(caller),
        hidden,
    )
    return {
        "jobs": [job.status_info(base) for job in jobs],
        "links": [link(f"{base}/jobs", "self", JSON, "Jobs")],
    }


@router.get("/jobs/{jobId}", summary="A job's status and progress")
async def job_status(
    pool: PoolDep, base: BaseUrlDep, caller: CallerDep, hidden: HiddenLayersDep, job_id: JobId
) -> dict[str, Any]:
    job = await job_store.get_job(pool, job_id, jobs_of(caller), hidden)
    return job.status_info(base)


@router.get(
    "/jobs/{jobId}/request",
    summary="The execute request a job was made from, as submitted (rel onemap:request)",
)
async def job_request(
    pool: PoolDep, caller: CallerDep, hidden: HiddenLayersDep, job_id: JobId
) -> dict[str, Any]:
    return await job_store.job_request(pool, job_id, jobs_of(caller), hidden)


@router.delete("/jobs/{jobId}", summary="Dismiss a job (cancels it if it is running)")
async def dismiss(
    request: Request,
    pool: PoolDep,
    base: BaseUrlDep,
    caller: CallerDep,
    hidden: HiddenLayersDep,
    job_id: JobId,
    runner: RunnerDep,
) -> dict[str, Any]:
    async with audited(pool, request, caller, "job.dismiss") as note:
        note.detail["job"] = job_id[:80]
        job = await job_store.dismiss_job(pool, job_id, jobs_of(caller), hidden)
        note.layer_id = job.published_layer
    runner.cancel(job.id)  # running here: stops at its next checkpoint (elsewhere: within 1 s)
    return job.status_info(base)


async def _finished_outputs(
    pool: PoolDep, job_id: str, caller: Caller, hidden: list[str]
) -> list[EncodedOutput]:
    job = await job_store.get_job(pool, job_id, jobs_of(caller), hidden)
    if job.status in ("accepted", "running"):
        raise ResultNotReady(f"job {job.id} is {job.status} ({job.progress}%); results come later")
    if job.status == "failed" and job.failure_status is not None:
        raise JobFailed(f"job {job.id} failed: {job.message}", job.failure_status, job.failure_type)
    if job.status != "successful":
        raise ResultNotAvailable(f"job {job.id} has no results: it {job.status}: {job.message}")
    rows = await job_store.job_results(pool, job.id)
    return [EncodedOutput(out_id, media, body) for out_id, media, body in rows]


@router.get("/jobs/{jobId}/results", summary="A finished job's results document")
async def job_results(
    pool: PoolDep, base: BaseUrlDep, caller: CallerDep, hidden: HiddenLayersDep, job_id: JobId
) -> Response:
    outputs = await _finished_outputs(pool, job_id, caller, hidden)
    return JSONResponse(results_document(outputs, f"{base}/jobs/{job_store.parse_job_id(job_id)}"))


@router.get("/jobs/{jobId}/results/{outputId}", summary="One output of a finished job, raw")
async def job_output(
    pool: PoolDep,
    caller: CallerDep,
    hidden: HiddenLayersDep,
    job_id: JobId,
    output_id: Annotated[str, PathParam(alias="outputId")],
) -> Response:
    for out in await _finished_outputs(pool, job_id, caller, hidden):
        if out.output_id == output_id:
            return Response(out.body, media_type=out.media_type, headers=out.headers)
    raise NoSuchOutput(f"job {job_id} has no output '{output_id[:80]}'")
