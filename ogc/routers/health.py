"""Liveness and readiness probes for load balancers and orchestrators.

Neither queues behind traffic: ``/healthz`` does nothing, and ``/readyz`` reads the last
result of the background database probe (``layers.probe``, its own connection) instead
of asking the request pool, so a busy worker — every pooled connection taken — stays
ready; only a database that really does not answer, or a catalog not loaded, is a 503.
Both are ``async``: a plain ``def`` route would wait for a worker thread.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ogc.deps import StateDep

router = APIRouter(tags=["Health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the catalog is loaded")
async def readyz(state: StateDep) -> JSONResponse:
    problems = []
    if state.probe is None:
        problems.append("database probe not started")
    else:
        problem = state.probe.problem()
        if problem is not None:
            problems.append(problem)
    if state.store is None or not state.store.loaded:
        problems.append("catalog not loaded")
    if problems:
        headers = {"Retry-After": "2", "Cache-Control": "no-store"}
        body = {"status": "unavailable", "problems": problems}
        return JSONResponse(body, status_code=503, headers=headers)
    assert state.store is not None
    return JSONResponse(
        {
            "status": "ready",
            "layers": len(state.store.current),
            "catalog_generation": state.store.generation,
            # Standbys never decide readiness (reads fall back to the primary): reported only.
            "read_replicas": state.reads.status() if state.reads is not None else None,
        },
        headers={"Cache-Control": "no-store"},
    )
