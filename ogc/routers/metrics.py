"""``GET /metrics``: Prometheus text exposition of this process (``ogc.observe``).

For admins and the holder of ``ONEMAP_METRICS_TOKEN`` (the gate's ``may_read_metrics``);
the public gets a 401, other callers a 403. Never cached.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from layers.errors import Unavailable
from ogc.deps import CallerDep, StateDep
from ogc.gate.caller import may_read_metrics
from ogc.observe.exposition import CONTENT_TYPE

router = APIRouter(tags=["Health"])
PATH = "/metrics"
DESCRIPTION = (
    "Requests by route class and status, latency histograms, database pool use, tile cache "
    "hits, the job queue, the catalog generation and admission shedding of this process, in "
    "the Prometheus text format 0.0.4. Needs `Authorization: Bearer <ONEMAP_METRICS_TOKEN>` "
    "or an admin's credential."
)


@router.get(
    PATH,
    summary="Prometheus metrics of this process",
    description=DESCRIPTION,
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}}},
        401: {"description": "No credential presented"},
        403: {"description": "The caller may not read metrics"},
    },
)
async def metrics(state: StateDep, caller: CallerDep) -> Response:
    may_read_metrics(caller)
    if state.metrics is None:
        raise Unavailable("metrics are not set up yet; retry shortly")
    body = await state.metrics.render()
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
