"""FastAPI dependencies, as ``Annotated`` aliases the routers declare.

The dependency functions are ``async`` on purpose: FastAPI runs a plain ``def``
dependency in a worker thread, a hop that cost more than the work itself on fast
routes. The plain helpers below them are for code that already holds the state.
Every dependency only reads ``AppState``: the services are built by the lifespan
(``ogc/services/``), never by the first request that needs one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from psycopg_pool import AsyncConnectionPool

from layers.access.caller import Caller
from layers.access.service import AccessService
from layers.catalog import Catalog, Layer
from layers.crs import ServedCrs
from layers.errors import DatabaseUnavailable, NotFound
from layers.features.plan import FeaturePlan
from layers.features.query import AreaClip
from layers.settings import ServiceSettings
from ogc.gate.areas import clip_for
from ogc.gate.caller import caller_in
from ogc.gate.visible import hidden_layer_ids, is_restricted, visible_layer, visible_layers
from ogc.http.paths import base_url
from ogc.plans import Snapshot
from ogc.processes.runner import JobRunner
from ogc.state import AppState
from spatial.registry import AnalysisRegistry
from tiles.plan import TilePlan
from tiles.service import TileProducer


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.onemap
    return state


def served_crs_of(request: Request) -> ServedCrs:
    """The deployment's CRS rule (``ONEMAP_CRS_BY_REFERENCE``)."""
    return state_of(request).settings.served_crs


def pool_of(state: AppState) -> AsyncConnectionPool:
    if state.pool is None:
        raise DatabaseUnavailable("the database pool is not open yet; retry shortly")
    return state.pool


def read_pool_of(state: AppState) -> AsyncConnectionPool:
    """The pool a read-only request runs on: a standby that has replayed what this
    process has seen of the primary, else the primary (``layers.replicas``)."""
    if state.reads is None:
        return pool_of(state)
    return state.reads.pool()


async def wrote(state: AppState) -> None:
    """After a commit this process's next reads must see (an edit): raise the floor."""
    if state.reads is not None:
        await state.reads.wrote()


def snapshot_of(state: AppState) -> Snapshot:
    """The current catalog and its plans, as one object (``ogc.plans``)."""
    if state.snapshot is None:
        raise DatabaseUnavailable("the layer catalog is not loaded yet; retry shortly")
    return state.snapshot


def catalog_of(state: AppState) -> Catalog:
    return snapshot_of(state).catalog


def layer_of(catalog: Catalog, collection_id: str, caller: Caller) -> Layer:
    """The single place a collection id becomes a layer: through the gate (404 for a
    layer the caller may not see, as for an unknown id)."""
    return visible_layer(catalog, collection_id, caller)


async def clip_of(
    state: AppState, snapshot: Snapshot, layer: Layer, caller: Caller
) -> AreaClip | None:
    """The area ``caller`` sees ``layer``'s features in (None: all of them), ``ogc.gate.areas``."""
    return await clip_for(snapshot, layer, caller, read_pool_of(state), state.settings.admin)


def count_restricted_read(state: AppState, layer: Layer, caller: Caller) -> None:
    """A read of a restricted layer, counted for the audit per caller × layer × hour (in
    memory; ``AccessService`` flushes it). Other layers cost nothing."""
    if is_restricted(layer) and state.access is not None:
        state.access.count_restricted_read(caller, layer.id)


def listed_layers(catalog: Catalog, caller: Caller) -> list[Layer]:
    """The layers a listing shows (``/collections``, ``/api``, WMTS): those the caller sees."""
    return visible_layers(catalog, caller)


def access_of(state: AppState) -> AccessService:
    """API keys and quotas on the request path (``layers.access.service``)."""
    if state.access is None:
        raise DatabaseUnavailable("the key service is not started yet; retry shortly")
    return state.access


def producer_of(state: AppState) -> TileProducer:
    if state.tile_producer is None:
        raise DatabaseUnavailable("the tile service is not started yet; retry shortly")
    return state.tile_producer


def runner_of(state: AppState) -> JobRunner:
    if state.jobs is None:
        raise DatabaseUnavailable("the job runner is not started yet; retry shortly")
    return state.jobs


def base_url_of(request: Request, settings: ServiceSettings) -> str:
    """The root of the request's links (``ogc.http.paths.base_url``, the fast path's too)."""
    return base_url(settings.public_url, request.scope)


async def get_state(request: Request) -> AppState:
    return state_of(request)


async def get_settings(state: Annotated[AppState, Depends(get_state)]) -> ServiceSettings:
    return state.settings


async def get_pool(state: Annotated[AppState, Depends(get_state)]) -> AsyncConnectionPool:
    return pool_of(state)


async def get_read_pool(state: Annotated[AppState, Depends(get_state)]) -> AsyncConnectionPool:
    return read_pool_of(state)


async def get_snapshot(state: Annotated[AppState, Depends(get_state)]) -> Snapshot:
    """Read once per request (FastAPI caches it): the catalog, the layer and its plan
    all come from this one snapshot, whatever reload happens during the request."""
    return snapshot_of(state)


async def get_catalog(snapshot: Annotated[Snapshot, Depends(get_snapshot)]) -> Catalog:
    return snapshot.catalog


async def get_caller(request: Request) -> Caller:
    """Who is calling (``ogc.gate.caller``): resolved once per request by the gate's
    middleware, or here when a request reaches a route without it."""
    return await caller_in(request.scope, state_of(request).callers)


async def get_hidden_layers(
    catalog: Annotated[Catalog, Depends(get_catalog)],
    caller: Annotated[Caller, Depends(get_caller)],
) -> list[str]:
    """The ids of the layers hidden from the caller (jobs naming one do not exist for them)."""
    return hidden_layer_ids(catalog, caller)


async def get_registry(state: Annotated[AppState, Depends(get_state)]) -> AnalysisRegistry:
    """The analyses offered as processes (``create_app(settings, registry=...)``)."""
    return state.registry


async def get_producer(state: Annotated[AppState, Depends(get_state)]) -> TileProducer:
    """The app's tile producer (its cache is swept by a catalog subscriber)."""
    return producer_of(state)


async def get_runner(state: Annotated[AppState, Depends(get_state)]) -> JobRunner:
    """The app's job runner (jobs a stopped server left were recovered at start-up)."""
    return runner_of(state)


async def admitted(request: Request) -> AsyncIterator[None]:
    """A slot of this worker's admission for a heavy request (items pages, searches,
    process runs: ``layers.admission``), held until its response is sent; none free and
    the short queue full, or the wait too long, is a 503 with ``Retry-After``."""
    admission = state_of(request).admission
    if admission is None:
        raise DatabaseUnavailable("the service is not started yet; retry shortly")
    async with admission.slot(request.url.path):
        yield


HEAVY = Depends(admitted)  # as ``dependencies=[HEAVY]`` on a heavy route

CollectionId = Annotated[str, Path(alias="collectionId", description="Collection id")]


def read_layer(state: AppState, catalog: Catalog, collection_id: str, caller: Caller) -> Layer:
    """The path's layer as the caller may read it (the gate), its read counted for the audit."""
    layer = layer_of(catalog, collection_id, caller)
    count_restricted_read(state, layer, caller)
    return layer


async def get_layer(
    state: Annotated[AppState, Depends(get_state)],
    catalog: Annotated[Catalog, Depends(get_catalog)],
    caller: Annotated[Caller, Depends(get_caller)],
    collection_id: CollectionId,
) -> Layer:
    return read_layer(state, catalog, collection_id, caller)


async def get_tile_plan(
    snapshot: Annotated[Snapshot, Depends(get_snapshot)],
    layer: Annotated[Layer, Depends(get_layer)],
) -> TilePlan:
    """The tile plan of the path's layer version (the layer passed ``get_layer``)."""
    return snapshot.tiles(layer)


async def get_feature_layer(layer: Annotated[Layer, Depends(get_layer)]) -> Layer:
    """A layer that has features: a raster layer's items do not exist."""
    if layer.kind != "vector":
        raise NotFound(
            f"collection '{layer.id}' is a {layer.kind} layer and has no features; "
            f"its map tiles are at /collections/{layer.id}/map/tiles"
        )
    return layer


async def get_feature_plan(
    snapshot: Annotated[Snapshot, Depends(get_snapshot)],
    layer: Annotated[Layer, Depends(get_feature_layer)],
) -> FeaturePlan:
    """The feature plan of the requested layer's version (the layer passed the checks)."""
    return snapshot.plan(layer).features


async def get_clip(
    state: Annotated[AppState, Depends(get_state)],
    snapshot: Annotated[Snapshot, Depends(get_snapshot)],
    layer: Annotated[Layer, Depends(get_layer)],
    caller: Annotated[Caller, Depends(get_caller)],
) -> AreaClip | None:
    """The area-limited caller's clip of the path's layer (None for everyone else)."""
    return await clip_of(state, snapshot, layer, caller)


@dataclass(frozen=True, slots=True)
class TileRequest:
    """What a tile route needs. Resolved by one dependency, not a tree of them: FastAPI's
    solver costs tens of µs per dependency, and an uncached tile route had 26 (measured:
    about a fifth of the tile rate under concurrency)."""

    state: AppState
    plan: TilePlan
    caller: Caller
    clip: AreaClip | None

    @property
    def producer(self) -> TileProducer:
        return producer_of(self.state)


async def get_tile_request(request: Request, collection_id: CollectionId) -> TileRequest:
    """The same steps as ``LayerDep`` + ``TilePlanDep`` + ``ClipDep``, in one call."""
    state = state_of(request)
    snapshot = snapshot_of(state)  # read once: layer, plan and clip agree
    caller = await caller_in(request.scope, state.callers)
    layer = read_layer(state, snapshot.catalog, collection_id, caller)
    clip = await clip_of(state, snapshot, layer, caller)
    return TileRequest(state, snapshot.tiles(layer), caller, clip)


async def get_base_url(
    request: Request, settings: Annotated[ServiceSettings, Depends(get_settings)]
) -> str:
    return base_url_of(request, settings)


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]  # the primary: writes
ReadPoolDep = Annotated[AsyncConnectionPool, Depends(get_read_pool)]  # reads only
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
CallerDep = Annotated[Caller, Depends(get_caller)]
HiddenLayersDep = Annotated[list[str], Depends(get_hidden_layers)]
LayerDep = Annotated[Layer, Depends(get_layer)]
FeatureLayerDep = Annotated[Layer, Depends(get_feature_layer)]
FeaturePlanDep = Annotated[FeaturePlan, Depends(get_feature_plan)]
BaseUrlDep = Annotated[str, Depends(get_base_url)]
ClipDep = Annotated[AreaClip | None, Depends(get_clip)]
RegistryDep = Annotated[AnalysisRegistry, Depends(get_registry)]
ProducerDep = Annotated[TileProducer, Depends(get_producer)]
TilePlanDep = Annotated[TilePlan, Depends(get_tile_plan)]
TileRequestDep = Annotated[TileRequest, Depends(get_tile_request)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
