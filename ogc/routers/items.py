"""``/collections/{collectionId}/items`` and ``/items/{featureId}`` (Parts 1, 2, 3).

PostGIS renders the features; this router validates, negotiates, checks the
client's cached copy (ETag/304) before touching the database, and streams.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse
from psycopg_pool import AsyncConnectionPool

from layers.catalog import Layer
from layers.crs import DEFAULT as DEFAULT_CRS
from layers.crs import content_crs_header
from layers.edit.revision import Revision, read_revision
from layers.errors import NotFound
from layers.features import Binder, ItemsQuery
from layers.features.count import matched
from layers.features.execute import (
    PageSummary,
    fetch_page,
    primed,
    read_feature,
    stream_copy,
    stream_page,
)
from layers.features.ids import fid_of
from layers.features.page import CHUNK_ROWS, csv_copy_sql
from layers.features.params import encode_keyset, parse_feature_id
from layers.features.plan import FeaturePlan
from layers.features.where import admin_exists_sql
from layers.settings import ServiceSettings
from ogc import deps
from ogc.common.feature_history import asks_for_a_version, historic_feature
from ogc.common.features import (
    alternate_encoding,
    feature_document,
    missing_feature,
    representation_variant,
)
from ogc.common.items_request import feature_query, items_query
from ogc.deps import CallerDep, ClipDep, FeaturePlanDep, SnapshotDep
from ogc.gate.visible import cache_scope
from ogc.html import pages as html
from ogc.http import paths
from ogc.http.links import GEOJSON, HTML, JSON, link, page_link_href
from ogc.http.negotiation import FORMATS, not_modified, output_format, validators
from ogc.openapi.params import FEATURE_PARAMETERS_DOC, ITEMS_PARAMETERS_DOC

router = APIRouter(tags=["Features"])
HEAD = b'{"type":"FeatureCollection","features":['
PAGING = ("after", "before", "offset")


@router.get(
    paths.ITEMS,
    summary="Features of a collection (GeoJSON, GeoJSON-seq, CSV, HTML)",
    openapi_extra={"parameters": ITEMS_PARAMETERS_DOC},
    dependencies=[deps.HEAVY],  # a page holds a connection: bounded per worker
)
async def get_items(
    request: Request, snapshot: SnapshotDep, plan: FeaturePlanDep, caller: CallerDep, clip: ClipDep
) -> Response:
    pool, settings, base = _context(request)
    layer, catalog = plan.layer, snapshot.catalog  # one snapshot: the plan is of its layer
    output = output_format(request)
    headers = validators(layer, request, output, cache_scope(layer, caller))
    cached = not_modified(request, headers, layer.version_created_at)
    if cached is not None:
        return cached
    query = items_query(plan, request.query_params, settings, catalog, clip)
    if query.within is not None:
        await _require_admin_area(pool, query)
    if output == "csv":
        return await _csv(layer, query, pool, headers)
    if output == "html":  # the page's map is drawn in CRS84, from geometries sized for it
        query = dataclasses.replace(query, output_crs=DEFAULT_CRS, map_detail=html.MAP_DETAIL)
        body = await _geojson_bytes(request, plan, query, pool, settings, base)
        return html.items_page(request, layer, body, headers)
    if output == "jsonseq":
        return await _geojson_seq(plan, query, pool, headers)
    if output in ("jsonfg", "gml"):  # re-encoded from the page as a whole
        body = await _geojson_bytes(request, plan, query, pool, settings, base)
        return alternate_encoding(body, output, layer, query.output_crs, base, headers)
    headers["Content-Crs"] = content_crs_header(query.output_crs)
    if query.limit + 1 <= CHUNK_ROWS:
        body = await _geojson_bytes(request, plan, query, pool, settings, base)
        return Response(body, media_type=GEOJSON, headers=headers)
    binder = Binder(literal=query.condition is not None)
    chunks = stream_page(
        pool,
        plan.geojson_page_sql(query, binder),
        binder.bound,
        head=HEAD,
        separator=b",",
        tail=lambda conn, summary: _tail(request, plan, query, settings, base, conn, summary),
    )
    return StreamingResponse(await primed(chunks), media_type=GEOJSON, headers=headers)


def reusable_plan(query: ItemsQuery) -> bool | None:
    """Selections are planned per request: a generic plan that does not know the bbox or
    the filter values may read a whole index (e.g. every point of a city, then sort)
    where a custom plan walks the primary key; unfiltered pages reuse prepared plans."""
    return None if not query.filtered else False


def _context(request: Request) -> tuple[AsyncConnectionPool, ServiceSettings, str]:
    """Read pool, settings and base URL by plain calls of the ``ogc.deps`` helpers.

    The catalog snapshot and the layer's plan come through ``SnapshotDep``/``FeaturePlanDep``
    (FastAPI resolves the snapshot once per request; the layer passes ``FeatureLayerDep``,
    the one place access checks will live).
    """
    state = deps.state_of(request)
    settings = state.settings
    return deps.read_pool_of(state), settings, deps.base_url_of(request, settings)


async def _geojson_bytes(
    request: Request,
    plan: FeaturePlan,
    query: ItemsQuery,
    pool: AsyncConnectionPool,
    settings: ServiceSettings,
    base: str,
) -> bytes:
    """A page small enough to be one chunk row, as a whole FeatureCollection."""
    binder = Binder(literal=query.condition is not None)
    statement = plan.geojson_page_sql(query, binder)
    summary = PageSummary()
    parts = [HEAD]
    async with pool.connection() as conn:
        for row in await fetch_page(conn, statement, binder.bound, prepare=reusable_plan(query)):
            summary.add(row)
            if row[0] is not None:
                parts.append(row[0].encode() if len(parts) == 1 else b"," + row[0].encode())
        parts.append(await _tail(request, plan, query, settings, base, conn, summary))
    return b"".join(parts)


async def _tail(
    request: Request,
    plan: FeaturePlan,
    query: ItemsQuery,
    settings: ServiceSettings,
    base: str,
    conn: psycopg.AsyncConnection[Any],
    summary: PageSummary,
) -> bytes:
    """``],`` then the members that depend on the whole page: counts, time stamp, links."""
    members: dict[str, Any] = {"numberReturned": summary.returned}
    members.update(await matched(plan, query, settings.exact_count_max, conn, summary))
    members["timeStamp"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    members["links"] = page_links(request, plan.layer, query, base, summary)
    return b"]," + orjson.dumps(members)[1:]


def page_links(
    request: Request, layer: Layer, query: ItemsQuery, base: str, summary: PageSummary
) -> list[dict[str, str]]:
    href = paths.href(base, paths.ITEMS, collectionId=layer.id)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in (*PAGING, "f")]
    current = request.url.query
    links = [
        link(f"{href}?{current}" if current else href, "self", GEOJSON, "This page"),
        link(page_link_href(href, kept, ("f", "html")), "alternate", HTML, "This page as HTML"),
        link(href.removesuffix("/items"), "collection", JSON, layer.title),
    ]
    backwards = query.keyset.backwards if query.keyset else False
    first, last = summary.edge_keys(backwards=backwards)
    has_next = summary.more if not backwards else summary.returned > 0
    has_prev = (
        summary.more if backwards else summary.returned > 0 and (query.keyset or query.offset)
    )
    if has_next and last is not None:
        after = page_link_href(href, kept, ("after", encode_keyset(last)))
        links.append(link(after, "next", GEOJSON))
    if has_prev and first is not None:
        before = page_link_href(href, kept, ("before", encode_keyset(first)))
        links.append(link(before, "prev", GEOJSON))
    return links


async def _geojson_seq(
    plan: FeaturePlan, query: ItemsQuery, pool: AsyncConnectionPool, headers: dict[str, str]
) -> Response:
    binder = Binder(literal=query.condition is not None)

    async def no_tail(conn: Any, summary: PageSummary) -> bytes:
        return b""

    chunks = stream_page(
        pool,
        plan.geojson_seq_page_sql(query, binder),
        binder.bound,
        head=b"",
        separator=b"",
        tail=no_tail,
    )
    headers["Content-Crs"] = content_crs_header(query.output_crs)
    return StreamingResponse(await primed(chunks), media_type=FORMATS["jsonseq"], headers=headers)


async def _csv(
    layer: Layer, query: ItemsQuery, pool: AsyncConnectionPool, headers: dict[str, str]
) -> Response:
    statement = csv_copy_sql(layer, query, Binder(literal=True))
    headers["Content-Crs"] = content_crs_header(query.output_crs)
    headers["Content-Disposition"] = f'inline; filename="{layer.id}.csv"'
    chunks = stream_copy(pool, statement)
    return StreamingResponse(await primed(chunks), media_type="text/csv", headers=headers)


async def _require_admin_area(pool: AsyncConnectionPool, query: ItemsQuery) -> None:
    assert query.within is not None
    statement, params = admin_exists_sql(query.within)
    async with pool.connection() as conn:
        row = await (await conn.execute(statement, params)).fetchone()
    if not row or not row[0]:
        raise NotFound(f"within: no administrative area has code {query.within.adcode}")


@router.get(
    paths.ITEM,
    summary="One feature",
    openapi_extra={"parameters": FEATURE_PARAMETERS_DOC},
)
async def get_feature(
    request: Request,
    plan: FeaturePlanDep,
    caller: CallerDep,
    clip: ClipDep,
    feature_id: Annotated[str, Path(alias="featureId")],
) -> Response:
    pool, _, base = _context(request)
    layer = plan.layer
    output = output_format(request, ("json", "geojson", "html", "jsonfg", "gml"))
    fid = await _fid(pool, layer, feature_id)
    if asks_for_a_version(request):  # as it was (ADR 0013, decision 11)
        return await historic_feature(request, layer, caller, clip, fid)
    headers = validators(layer, request, output, cache_scope(layer, caller))
    modified = layer.version_created_at
    if layer.editable:  # per-feature validators (ADR 0013), read before the feature
        revision = await feature_revision(pool, layer, fid)
        headers |= revision.headers(
            representation_variant(request, output, cache_scope(layer, caller))
        )
        modified = revision.modified_at
    cached = not_modified(request, headers, modified)
    if cached is not None:
        return cached
    query = dataclasses.replace(
        feature_query(layer, request.query_params, deps.served_crs_of(request)), clip=clip
    )
    if output == "html":
        query = dataclasses.replace(query, map_detail=html.MAP_DETAIL)
    area = clip.geometry if clip is not None else None
    feature = await read_feature(pool, plan.feature_sql(query), fid, area)
    if feature is None:
        raise missing_feature(layer, feature_id)
    body = feature_document(feature, base, layer, feature_id)
    if output == "html":
        return html.feature_page(request, layer, body, headers)
    if output in ("jsonfg", "gml"):
        return alternate_encoding(body, output, layer, query.output_crs, base, headers)
    headers["Content-Crs"] = content_crs_header(query.output_crs)
    return Response(body, media_type=GEOJSON, headers=headers)


async def _fid(pool: AsyncConnectionPool, layer: Layer, feature_id: str) -> int:
    """The row the URL's id names: the integer fid, or a value of the layer's id field."""
    if layer.id_field is None:
        fid = parse_feature_id(feature_id)
    else:
        async with pool.connection() as conn:
            fid = await fid_of(conn, layer, feature_id)
    if fid is None:
        kind = "integers" if layer.id_field is None else f"values of '{layer.id_field}'"
        raise NotFound(
            f"feature {feature_id[:40]!r} does not exist in '{layer.id}' (ids are {kind})"
        )
    return fid


async def feature_revision(pool: AsyncConnectionPool, layer: Layer, fid: int) -> Revision:
    """An editable layer's feature revision. Read before the feature: an edit between the
    two reads leaves an older ETag on newer bytes, whose If-Match then fails (412) rather
    than letting a change overwrite what its author never saw."""
    async with pool.connection() as conn:
        return await read_revision(conn, layer.id, layer.table_name, fid)
