"""A feature's history and reverts (ADR 0013, decision 11).

``GET …/items/{featureId}/versions``: the revisions of a feature, newest first, as a GeoJSON
FeatureCollection (each revision the feature as it left it, with who, when, what and the
layer version in its ``revision`` member), paged by ``limit`` and ``before=<version>``.
``POST …/items/{featureId}/versions/{version}/revert``: make the feature what it was at
that version — itself an edit (a new version, conditional on If-Match or
If-Unmodified-Since, recorded and audited as ``feature.revert``).

Both pass the gate like every features path: a layer the caller may not see is a 404,
reads of a restricted layer are counted for the audit, an area-limited caller sees only
the revisions inside their areas, internal fields stay hidden, and a revert needs the
owning department's publisher or an admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from layers.access.caller import Caller
from layers.catalog import Layer
from layers.crs import content_crs_header
from layers.edit.errors import PreconditionRequired
from layers.edit.history import (
    FeatureRevision,
    feature_at,
    render_states,
    restored_values,
    revisions,
    version_row,
)
from layers.edit.revision import Preconditions, Revision, check, read_revision
from layers.edit.store import EditSession
from layers.errors import Conflict, InvalidParameter
from layers.features import ItemsQuery
from layers.features import params as p
from layers.features.render import feature_json
from ogc import deps
from ogc.common.edit_request import (
    CONDITIONAL,
    edit_transaction,
    editable_layer,
    feature_fid,
    preconditions_of,
    reload_catalog,
)
from ogc.common.feature_history import (
    FeatureUrls,
    Lineage,
    kept_time,
    lineage_of,
    version_view,
)
from ogc.common.features import missing_feature
from ogc.deps import CallerDep, ClipDep, CollectionId, FeatureLayerDep, SnapshotDep
from ogc.http import paths
from ogc.http.links import GEOJSON, link, page_link_href
from ogc.http.negotiation import output_format

router = APIRouter(tags=["Feature history"])
FeatureId = Annotated[str, Path(alias="featureId")]
VersionNumber = Annotated[int, Path(alias="version", ge=1, description="A layer version")]
HISTORY_PARAMETERS = frozenset({"limit", "before", "crs", "skipGeometry", "f", "lang", "tk"})
HISTORY_DOC = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "before",
        "in": "query",
        "description": "Revisions older than this layer version (the next page's link)",
        "schema": {"type": "integer", "minimum": 1},
    },
    {"name": "crs", "in": "query", "schema": {"type": "string", "format": "uri"}},
    {"name": "skipGeometry", "in": "query", "schema": {"type": "boolean"}},
]


@router.get(
    paths.ITEM_VERSIONS,
    summary="A feature's versions, newest first (rel=version-history)",
    openapi_extra={"parameters": HISTORY_DOC},
)
async def get_versions(
    request: Request,
    layer: FeatureLayerDep,
    caller: CallerDep,
    clip: ClipDep,
    feature_id: FeatureId,
) -> Response:
    output_format(request, ("json", "geojson"))
    fid = feature_fid(layer, feature_id)
    params = _checked_parameters(request.query_params)
    state = deps.state_of(request)
    settings, base = state.settings, deps.base_url_of(request, state.settings)
    limit = p.parse_limit(
        params.get("limit"), default=settings.default_limit, maximum=settings.max_limit
    )
    before = _before(params.get("before"))
    query = ItemsQuery(
        limit=1,
        output_crs=settings.served_crs.parse(params.get("crs"), "crs", layer),
        skip_geometry=p.parse_boolean(params.get("skipGeometry"), "skipGeometry"),
    )
    async with deps.pool_of(state).connection() as conn:
        lineage, _ = await lineage_of(conn, layer, fid, clip, base)
        if not lineage.known:
            raise missing_feature(layer, feature_id)
        older = [r for r in lineage.known if before is None or r.version < before]
        page = older[:limit]
        reader = (request, layer, caller)
        features = await _revision_features(conn, reader, lineage, page, query)
    links = _page_links(request, lineage, page, more=len(older) > limit)
    body = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": len(lineage.known),
        "numberReturned": len(features),
        "links": links,
    }
    headers = {"Content-Crs": content_crs_header(query.output_crs)}
    return Response(orjson.dumps(body), media_type=GEOJSON, headers=headers)


def _checked_parameters(given: Mapping[str, str]) -> Mapping[str, str]:
    p.reject_nul(given)
    unknown = [k for k in given if k not in HISTORY_PARAMETERS]
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter(s) {', '.join(map(repr, unknown))} for a feature's "
            f"versions; use {', '.join(sorted(HISTORY_PARAMETERS))}"
        )
    return given


def _before(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) > p.MAX_BIGINT:  # as items' before= (a bigint)
        raise InvalidParameter(f"before must be a layer version number, got {text[:40]!r}")
    return int(text)


async def _revision_features(
    conn: psycopg.AsyncConnection[Any],
    reader: tuple[Request, Layer, Caller],
    lineage: Lineage,
    page: list[FeatureRevision],
    query: ItemsQuery,
) -> list[dict[str, Any]]:
    """Each revision as a Feature: the state it left (a delete: no geometry, no
    properties), rendered for the caller's view of its own version table's schema.
    The page holds only revisions the caller may know of (``lineage_of``)."""
    request, layer, caller = reader
    rendered: dict[int, dict[str, Any]] = {}
    for table in sorted({r.table_name for r in page}):
        group = [r for r in page if r.table_name == table]
        row = await version_row(conn, layer.id, group[0].version)
        stored = version_view(request, layer, row, caller)
        states = [r.state or r.removed or {} for r in group]
        texts = await render_states(conn, stored, feature_json(stored, query), states, None)
        for revision, text in zip(group, texts, strict=True):
            rendered[revision.version] = orjson.loads(text) if text else {}
    return [_revision_feature(lineage.urls, r, rendered[r.version]) for r in page]


def _revision_feature(
    urls: FeatureUrls, revision: FeatureRevision, feature: dict[str, Any]
) -> dict[str, Any]:
    if not revision.exists:
        feature = {**feature, "geometry": None, "properties": None}
    feature["revision"] = {
        "version": revision.version,
        "operation": revision.operation,
        "modifiedAt": kept_time(revision).isoformat().replace("+00:00", "Z"),
        "actor": {"kind": revision.actor_kind, "subject": revision.actor_subject},
        "requestId": revision.request_id,
        "revertedTo": revision.reverted_to,
    }
    memento = link(urls.memento(revision.version), "memento", GEOJSON)
    feature["links"] = [memento] if revision.exists else []  # a delete left no version
    return feature


def _page_links(
    request: Request, lineage: Lineage, page: list[FeatureRevision], *, more: bool
) -> list[dict[str, str]]:
    urls = lineage.urls
    links = [
        link(str(request.url), "self", GEOJSON, "These versions"),
        link(urls.item, "original", GEOJSON, "This feature now"),
    ]
    states = lineage.states
    if states:
        links.append(link(urls.memento(states[0].version), "latest-version", GEOJSON))
        links.append(link(urls.memento(states[-1].version), "first", GEOJSON))
    if more and page:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "before"]
        href = page_link_href(urls.versions, kept, ("before", str(page[-1].version)))
        links.append(link(href, "next", GEOJSON))
    return links


@router.post(
    paths.ITEM_REVERT,
    summary="Make a feature what it was at a version (an edit: new version, recorded)",
    openapi_extra={"parameters": CONDITIONAL},
)
async def revert_feature(
    request: Request,
    snapshot: SnapshotDep,
    caller: CallerDep,
    collection_id: CollectionId,
    feature_id: FeatureId,
    version: VersionNumber,
) -> Response:
    layer = editable_layer(snapshot.catalog, collection_id, caller)
    fid = feature_fid(layer, feature_id)
    given = preconditions_of(request)
    async with edit_transaction(request, layer, caller, "revert") as (session, note):
        note.detail.update(fid=fid, reverted_to=version)
        made = await _reverted(session, layer, fid, version, given)
    await reload_catalog(request)
    return _reverted_answer(request, layer, fid, version, made)


async def _reverted(
    session: EditSession, layer: Layer, fid: int, version: int, given: Preconditions
) -> Revision | None:
    """The revert under the layer's lock: the state at ``version`` (a revision of another
    version table too), the precondition on the feature now, then the edit."""
    history = await revisions(session.conn, layer.id, fid)
    if not history:
        raise missing_feature(layer, str(fid))
    target = (await feature_at(session.conn, layer.id, history, version)).revision
    current = await session.feature(fid)
    if current is not None:
        check(current.revision, given)
    else:  # deleted (or left behind by a new ingest): its last revision is the validator
        if not given.given:
            raise PreconditionRequired(f"a revert of feature {fid} needs If-Match")
        check(await read_revision(session.conn, layer.id, session.table_name, fid), given)
    session.lineage = {"reverted_to": version}
    if target is None or target.state is None:
        if current is None:
            raise Conflict(f"feature {fid} did not exist at version {version} and does not now")
        await session.delete(current)
        return None
    values = restored_values(layer, target.state)
    if current is None:
        return await session.create(values, fid=fid)
    return await session.replace(current, values, "replace")


def _reverted_answer(
    request: Request, layer: Layer, fid: int, version: int, made: Revision | None
) -> Response:
    base = deps.base_url_of(request, deps.state_of(request).settings)
    urls = FeatureUrls.of(base, layer.id, fid)
    body = {
        "id": fid,
        "revertedTo": version,
        "version": made.version if made else None,
        "exists": made is not None,
        "links": [link(urls.item, "original", GEOJSON), link(urls.versions, "version-history")],
    }
    headers = {"Location": urls.item, **(made.headers() if made else {})}
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
