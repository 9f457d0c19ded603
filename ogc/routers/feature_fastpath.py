"""A single feature without the framework: a raw ASGI middleware in front of the app.

``GET /collections/{id}/items/{fid}`` of a public vector layer is one indexed row that
PostGIS renders; FastAPI's routing, dependency injection and the GZip/CORS middlewares
cost several times the query. This path answers the common case itself — no query
string or ``f=json``, Accept not asking for HTML — with the bytes and headers the route
sends (``items.feature_document`` builds both bodies; tests compare the two whole
responses), including 304 on If-None-Match, the 404 problem for an unknown id, the 503
of a statement timeout (``layers.features.execute``'s error map, ``ogc.errors``' table), gzip
and CORS (the rules of ``ogc.http``, which the route's side calls too). The statement is the
layer plan's (``ogc.plans``), rendered once per layer version. Only callers who see what the
public sees are answered here (the gate, ``ogc.gate``), and only layers they may see.
Anything else — other parameters, HTML, If-Modified-Since, hidden or raster layers, callers
whose answers are private, errors — falls through to the route.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request

from layers.access.caller import PUBLIC_SCOPE, Caller
from layers.catalog import Layer
from layers.crs import DEFAULT as DEFAULT_CRS
from layers.crs import content_crs_header
from layers.errors import OneMapError
from layers.features.execute import read_feature
from layers.features.plan import FeaturePlan
from ogc.common.features import feature_document, missing_feature
from ogc.deps import read_pool_of
from ogc.errors import headers_of, problem_of
from ogc.gate.caller import caller_or_none
from ogc.gate.visible import caller_view, may_read
from ogc.http import paths
from ogc.http.asgi_types import ASGIApp, Headers, Receive, Scope, Send
from ogc.http.conditional import first_accepted, matches, weak_etag
from ogc.http.negotiation import ACCEPTED
from ogc.http.policy import ResponsePolicy, secure
from ogc.plans import Snapshot

log = logging.getLogger("onemap.features")
# ASCII digits only: str.isdigit() and int() also take other scripts' digits (route's job).
PATH = paths.matcher(
    paths.ITEM, {"collectionId": r"[A-Za-z0-9][A-Za-z0-9_-]*", "featureId": r"[0-9]{1,18}"}
)
FORMAT_QUERIES = {b"": "", b"f=json": "f=json", b"f=geojson": "f=geojson"}
OUTPUTS = ("json", "html", "jsonfg", "gml")  # what the single-feature route offers
CONTENT_CRS = content_crs_header(DEFAULT_CRS).encode()


class FeatureFastPath:
    """Serve single public features with one prepared statement; pass everything else on."""

    def __init__(self, app: ASGIApp, policy: ResponsePolicy) -> None:
        self.app = app
        self.policy = policy
        self.served = 0  # responses answered here (the tests check which path answered)
        self._bases: dict[tuple[Any, ...], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        found = PATH.match(scope["path"])
        query = FORMAT_QUERIES.get(scope["query_string"])
        if found is None or query is None or scope.get("root_path"):
            return await self.app(scope, receive, send)
        try:
            served = await self._serve(scope, send, found[1], found[2], query)
        except Exception:  # never fail a request the route could still answer
            log.exception("feature fast path failed on %s; handing over", scope["path"])
            served = False
        if served:
            self.served += 1
        else:
            await self.app(scope, receive, send)

    async def _serve(
        self, scope: Scope, send: Send, layer_id: str, feature_id: str, query: str
    ) -> bool:
        request = _headers_of(scope)
        state: Any = getattr(scope["app"].state, "onemap", None)
        if state is None:
            return False
        caller = await caller_or_none(scope, state.callers)
        if caller is None:
            return False  # a refused credential: the gate's middleware answers
        plan = _public_vector_plan(state, layer_id, caller)
        if plan is None or state.pool is None or not _simple_request(request, query):
            return False
        if plan.single_feature_text is None:
            return False
        layer = plan.layer
        headers: Headers = [
            (b"etag", _etag(layer, scope["path"], query).encode()),
            (b"last-modified", plan.last_modified.encode()),
            (b"vary", b"Accept, Accept-Language"),
        ]
        if _not_modified(request.get(b"if-none-match"), headers[0][1]):
            await self._finish(send, request, 304, headers, b"", "")
            return True
        try:
            pool = read_pool_of(state)
            feature = await read_feature(pool, plan.single_feature_text, int(feature_id))
        except OneMapError as exc:  # a statement timeout: the route would answer the same
            await self._problem(scope, send, request, exc)
            return True
        if feature is None:
            await self._problem(scope, send, request, missing_feature(layer, feature_id))
            return True
        body = feature_document(feature, self._base(scope, request, state), layer, feature_id)
        headers.append((b"content-crs", CONTENT_CRS))
        await self._finish(send, request, 200, headers, body, "application/geo+json")
        return True

    async def _problem(
        self, scope: Scope, send: Send, request: dict[bytes, bytes], exc: OneMapError
    ) -> None:
        """A domain error as the app's handler answers it (``ogc.errors``' one table), the
        document serialised as its JSONResponse does."""
        status, document = problem_of(exc, Request(scope))
        body = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        headers: Headers = [(k.lower().encode(), v.encode()) for k, v in headers_of(exc).items()]
        media_type = "application/problem+json"
        await self._finish(send, request, status, headers, body.encode(), media_type)

    async def _finish(
        self,
        send: Send,
        request: dict[bytes, bytes],
        status: int,
        headers: Headers,
        body: bytes,
        media_type: str,
    ) -> None:
        """Starlette's Response headers, then the policy's gzip and CORS (the app's order)."""
        if status != 304:
            headers.append((b"content-length", str(len(body)).encode()))
            headers.append((b"content-type", media_type.encode()))
        body = self.policy.gzip(body, headers, request.get(b"accept-encoding", b""))
        self.policy.cors(request.get(b"origin"), headers)
        secure(headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _base(self, scope: Scope, request: dict[bytes, bytes], state: Any) -> str:
        """The base URL of links: ``ogc.http.paths.base_url``, as the route (memoised)."""
        if state.settings.public_url:
            return paths.base_url(state.settings.public_url, scope)
        server = scope.get("server")  # a list under some servers: not hashable
        key = (scope.get("scheme"), request.get(b"host"), tuple(server) if server else None)
        base = self._bases.get(key)
        if base is None:
            if len(self._bases) > 256:
                self._bases.clear()
            base = self._bases[key] = paths.base_url(None, scope)
        return base


def _headers_of(scope: Scope) -> dict[bytes, bytes]:
    """Request headers by name; the first of repeated names wins, as Starlette's ``get``."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(bytes(name), bytes(value))
    return headers


def _public_vector_plan(state: Any, layer_id: str, caller: Caller) -> FeaturePlan | None:
    """A vector layer the caller may see, for a caller whose answers are public: the plan
    of their view of it (no internal field). The layer and its plan come from one snapshot
    (``ogc.plans``)."""
    snapshot: Snapshot | None = getattr(state, "snapshot", None)
    if snapshot is None or caller.scope != PUBLIC_SCOPE:
        return None
    layer = snapshot.catalog.layers.get(layer_id)
    if layer is None or not may_read(layer, caller) or layer.kind != "vector":
        return None
    if layer.editable or layer.id_field:  # per-feature revisions, or ids that are not
        return None  # fids (ADR 0013): the route reads them
    return snapshot.plan(caller_view(layer, caller)).features


def _simple_request(request: dict[bytes, bytes], query: str) -> bool:
    """GeoJSON asked for (``ogc.http.negotiation.output_format``'s rule) and no date validator."""
    accept = request.get(b"accept", b"").decode("latin-1")
    if not query and first_accepted(accept, ACCEPTED, OUTPUTS) not in (None, "json"):
        return False  # HTML, JSON-FG, GML: the route's
    return b"if-modified-since" not in request or b"if-none-match" in request


def _etag(layer: Layer, path: str, query: str) -> str:
    """``ogc.http.negotiation.layer_etag`` for GeoJSON and at most one ``f`` parameter."""
    return weak_etag(layer.id, str(layer.version), path, query, "json")


def _not_modified(if_none_match: bytes | None, etag: bytes) -> bool:
    """``ogc.http.negotiation.not_modified`` for If-None-Match (weak comparison, ``*``)."""
    if if_none_match is None:
        return False
    return matches(if_none_match.decode("latin-1"), etag.decode())
