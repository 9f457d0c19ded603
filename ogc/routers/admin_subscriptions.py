"""Change notifications' admin API: webhook subscriptions and their deliveries.

- ``POST /admin/subscriptions`` ``{"department": receiver, "layer": id | "layersOf": dept,
  "url": …}``: 201 with the subscription and its signing secret (shown this once);
- ``GET /admin/subscriptions``, ``GET``/``DELETE /admin/subscriptions/{id}``;
- ``GET /admin/subscriptions/{id}/deliveries?state=dead`` and
  ``POST /admin/subscriptions/{id}/redeliver`` (dead deliveries get fresh attempts).

Who may: ``ogc.gate.subscriptions``. Creation and removal are audited in their transaction
(``webhook.create``, ``webhook.delete``); refusals as ``denied``. ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from layers.access.layer_access import department_ids_async
from layers.catalog_write import require_registered
from layers.webhooks.subscriptions import (
    Subscription,
    SubscriptionSpec,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_deliveries,
    list_subscriptions,
    parse_subscription_id,
    redeliver_dead,
)
from layers.webhooks.targets import resolve_target
from ogc.common.audit import AuditNote, audited, event_for
from ogc.deps import CallerDep, CatalogDep, PoolDep, StateDep
from ogc.gate.subscriptions import managed_by, watched_for

router = APIRouter(prefix="/admin", tags=["Administration"])
NO_STORE = {"Cache-Control": "no-store"}
SubscriptionId = Annotated[str, PathParam(alias="subscriptionId", description="Subscription id")]


class SubscriptionRequest(BaseModel):
    """A webhook: who receives (a registered department), what it watches, where."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    department: str = Field(max_length=48, description="The receiving department")
    layer: str | None = Field(None, max_length=48, description="One layer to watch")
    layers_of: str | None = Field(
        None, alias="layersOf", max_length=48, description="Watch every layer of this department"
    )
    url: str = Field(max_length=2000, description="Where events are POSTed (http/https)")
    description: str = Field("", max_length=500)


@router.post("/subscriptions", status_code=201, summary="Subscribe a webhook to layer changes")
async def subscriptions_create(
    request: Request,
    state: StateDep,
    pool: PoolDep,
    catalog: CatalogDep,
    caller: CallerDep,
    body: SubscriptionRequest,
) -> JSONResponse:
    async with audited(pool, request, caller, "webhook.create", body.layer, refusals_only=True):
        watched = watched_for(catalog, caller, body.layer, body.layers_of, body.department)
        async with pool.connection() as conn:
            known = await department_ids_async(conn)
        for department in (body.department, body.layers_of):
            require_registered(department, known)
        await resolve_target(body.url, state.settings.webhooks.allowed_networks)
        spec = SubscriptionSpec(
            body.department, watched.department, watched.layer_id, body.url, body.description
        )
        event = event_for(request, caller, "webhook.create", AuditNote(watched.layer_id))
        async with pool.connection() as conn:
            subscription, secret = await create_subscription(conn, spec, event)
    document = {"subscription": subscription.to_json(), "secret": secret}
    return JSONResponse(document, status_code=201, headers=NO_STORE)


@router.get("/subscriptions", summary="Webhook subscriptions (never their secrets)")
async def subscriptions_list(pool: PoolDep, caller: CallerDep) -> JSONResponse:
    watched_by = managed_by(caller)
    async with pool.connection() as conn:
        found = await list_subscriptions(conn, watched_by)
    return JSONResponse({"subscriptions": [s.to_json() for s in found]}, headers=NO_STORE)


async def _managed(pool: PoolDep, caller: CallerDep, subscription_id: str) -> Subscription:
    watched_by = managed_by(caller)
    async with pool.connection() as conn:
        return await get_subscription(conn, parse_subscription_id(subscription_id), watched_by)


@router.get("/subscriptions/{subscriptionId}", summary="A webhook subscription")
async def subscriptions_get(
    pool: PoolDep, caller: CallerDep, subscription_id: SubscriptionId
) -> JSONResponse:
    subscription = await _managed(pool, caller, subscription_id)
    return JSONResponse(subscription.to_json(), headers=NO_STORE)


@router.delete("/subscriptions/{subscriptionId}", summary="Remove a webhook subscription")
async def subscriptions_delete(
    request: Request, pool: PoolDep, caller: CallerDep, subscription_id: SubscriptionId
) -> JSONResponse:
    async with audited(pool, request, caller, "webhook.delete", refusals_only=True):
        subscription = await _managed(pool, caller, subscription_id)
        event = event_for(request, caller, "webhook.delete", AuditNote(subscription.layer_id))
        async with pool.connection() as conn:
            await delete_subscription(conn, subscription, event)
    return JSONResponse(subscription.to_json(), headers=NO_STORE)


@router.get(
    "/subscriptions/{subscriptionId}/deliveries",
    summary="A subscription's deliveries, newest change first (state=dead: the given-up ones)",
)
async def subscriptions_deliveries(
    pool: PoolDep,
    caller: CallerDep,
    subscription_id: SubscriptionId,
    state: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    subscription = await _managed(pool, caller, subscription_id)
    async with pool.connection() as conn:
        found = await list_deliveries(conn, subscription.id, state, limit)
    return JSONResponse({"deliveries": found}, headers=NO_STORE)


@router.post(
    "/subscriptions/{subscriptionId}/redeliver",
    summary="Send a subscription's dead deliveries again (fresh attempts, in order)",
)
async def subscriptions_redeliver(
    pool: PoolDep, caller: CallerDep, subscription_id: SubscriptionId
) -> JSONResponse:
    subscription = await _managed(pool, caller, subscription_id)
    async with pool.connection() as conn:
        count = await redeliver_dead(conn, subscription.id)
    return JSONResponse({"redelivering": count}, headers=NO_STORE)
