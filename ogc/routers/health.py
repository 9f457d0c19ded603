"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ogc.deps import StateDep

router = APIRouter(tags=["Health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the catalog is loaded")
async def readyz(state: StateDep) -> JSONResponse:
    problems = []
    if state.pool is None:
        problems.append("database pool not open")
    else:
        try:
            async with state.pool.connection(timeout=2) as conn:
                await conn.execute("SELECT 1")
        except Exception as exc:
            problems.append(f"database unreachable: {exc}")
    if state.store is None or not state.store.loaded:
        problems.append("catalog not loaded")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    assert state.store is not None
    return JSONResponse(
        {
            "status": "ready",
            "layers": len(state.store.current),
            "catalog_generation": state.store.generation,
        }
    )
