"""The OpenAPI document as 3.0, the version OGC API – Features Part 1 names (``oas30``),
with one items path per collection of the current catalog snapshot and one execution path
per process (``ogc.openapi.processes``).

FastAPI writes OpenAPI 3.1. The only 3.1 constructs it emits for OneMap are optional
values (``anyOf`` with ``{"type": "null"}``) and binary uploads (``contentMediaType``);
they are rewritten to their 3.0 forms (``nullable``, ``format: binary``). The processes'
input schemas add numeric ``exclusiveMinimum``/``exclusiveMaximum`` (3.0: a boolean beside
``minimum``/``maximum``), ``examples`` (3.0: one ``example``) and ``propertyNames`` (3.0
has none: an enum of names becomes those ``properties``, nothing else allowed).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI

from layers.access.caller import PUBLIC_SCOPE
from layers.catalog import Catalog, Layer
from layers.cql2 import Queryable
from layers.settings import ServiceSettings
from ogc.common.items_request import ITEMS_PARAMETERS
from ogc.http.links import JSON, OPENAPI
from ogc.openapi.params import (
    queryable_parameters,
    shared_items_parameters,
    shared_parameter_refs,
)
from ogc.openapi.processes import with_processes
from ogc.openapi.responses import truthful_responses
from ogc.plans import Snapshot
from spatial.registry import AnalysisRegistry

NULL = {"type": "null"}
GENERIC_ITEMS_PATH = "/collections/{collectionId}/items"
OPENAPI_VERSION = "3.0.3"
SCOPED_DOCUMENTS = 64  # documents of non-public scopes kept for the current snapshot


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    converted = copy.deepcopy(document)
    converted["openapi"] = OPENAPI_VERSION
    _rewrite(converted)
    truthful_responses(converted)
    return converted


def _rewrite(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list) and NULL in node[key]:
            _make_nullable(node, key)
    if node.get("contentMediaType") == "application/octet-stream":
        node.pop("contentMediaType")
        node["format"] = "binary"
    _json_schema_as_30(node)
    for value in node.values():
        _rewrite(value)


def _json_schema_as_30(node: dict[str, Any]) -> None:
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(exclusive)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[bound], node[exclusive] = value, True
    if isinstance(node.get("examples"), list):
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    names = node.pop("propertyNames", None)
    if isinstance(names, dict) and "enum" in names:
        value_schema = node.get("additionalProperties", {})
        node["properties"] = {name: copy.deepcopy(value_schema) for name in names["enum"]}
        node["additionalProperties"] = False


def _make_nullable(node: dict[str, Any], key: str) -> None:
    rest = [schema for schema in node.pop(key) if schema != NULL]
    if len(rest) == 1 and "$ref" in rest[0]:
        node["allOf"] = rest  # a $ref cannot carry siblings in 3.0
    elif len(rest) == 1:
        node.update(rest[0])
    else:
        node[key] = rest
    node["nullable"] = True


@dataclass(frozen=True)
class Rendered:
    """One catalog snapshot's document, serialised once."""

    catalog: Catalog
    document: dict[str, Any]
    body: bytes
    digest: str

    def etag(self, media_type: str) -> str:
        tag = hashlib.blake2b(f"{self.digest}\x00{media_type}".encode(), digest_size=12)
        return f'W/"{tag.hexdigest()}"'


class OpenApiDocuments:
    """``/api``: FastAPI's routes as 3.0 (built once) plus, per catalog snapshot, one
    ``/collections/<id>/items`` path per collection with its queryables as parameters —
    the path GDAL's OAPIF driver reads to send ``name=value`` filters to the server.

    A caller's document lists the collections they may see, so it is kept per access
    scope (``Caller.scope``). The public one is rebuilt when the catalog snapshot changes (a
    publish, a rollback): ``refresh`` subscribes to the catalog store (``ogc/services/``);
    the others are rendered on first request per snapshot, a bounded few at a time.
    """

    def __init__(
        self,
        generate: Callable[[], dict[str, Any]],
        settings: ServiceSettings,
        registry: AnalysisRegistry,
    ) -> None:
        self._generate = generate
        self._settings = settings
        self._registry = registry
        self._base: dict[str, Any] | None = None
        self._current: Rendered | None = None
        self._scoped: dict[str, Rendered] = {}

    def base(self) -> dict[str, Any]:
        if self._base is None:
            self._base = as_openapi_30(with_processes(self._generate(), self._registry))
        return self._base

    @property
    def latest(self) -> Rendered | None:
        """The public document of the last snapshot rendered (``None`` before the first)."""
        return self._current

    def refresh(self, snapshot: Snapshot, public_layers: Iterable[Layer]) -> None:
        """A catalog subscriber: render the new snapshot's public document now."""
        self._current = self._render(snapshot, public_layers)

    def rendered(self, snapshot: Snapshot, scope: str, layers: Iterable[Layer]) -> Rendered:
        """The document of ``snapshot`` for callers of ``scope``, who see ``layers``."""
        catalog = snapshot.catalog
        if scope == PUBLIC_SCOPE:
            current = self._current
            if current is None or current.catalog is not catalog:  # not yet refreshed
                current = self._current = self._render(snapshot, layers)
            return current
        found = self._scoped.get(scope)
        if found is None or found.catalog is not catalog:
            if len(self._scoped) >= SCOPED_DOCUMENTS:
                self._scoped.clear()
            found = self._scoped[scope] = self._render(snapshot, layers)
        return found

    def _render(self, snapshot: Snapshot, layers: Iterable[Layer]) -> Rendered:
        document = with_collections(self.base(), snapshot, layers, self._settings)
        body = orjson.dumps(document)
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        return Rendered(snapshot.catalog, document, body, digest)


def with_collections(
    base: dict[str, Any], snapshot: Snapshot, layers: Iterable[Layer], settings: ServiceSettings
) -> dict[str, Any]:
    """``base`` plus each vector layer's items path (its queryables from the layer's plan);
    ``base`` itself is left untouched."""
    generic = base["paths"][GENERIC_ITEMS_PATH]["get"]
    paths = dict(base["paths"])
    for layer in layers:
        if layer.kind == "vector":
            queryables = snapshot.plan(layer).features.queryables
            paths[f"/collections/{layer.id}/items"] = {
                "get": _items_operation(layer, queryables, generic)
            }
    components = dict(base.get("components", {}))
    components["parameters"] = {
        **components.get("parameters", {}),
        **shared_items_parameters(settings.default_limit, settings.max_limit),
    }
    return {**base, "paths": paths, "components": components}


def _items_operation(
    layer: Layer, queryables: Mapping[str, Queryable], generic: dict[str, Any]
) -> dict[str, Any]:
    return {
        "tags": generic.get("tags", ["Features"]),
        "summary": f"Features of {layer.id} ({layer.title})",
        "description": "Each queryable of the collection is also a query parameter: "
        "name=value keeps the features whose property equals the value. "
        f"See /collections/{layer.id}/queryables.",
        "operationId": f"getItems_{layer.id}",
        "parameters": [
            *shared_parameter_refs(),
            *queryable_parameters(queryables, reserved=ITEMS_PARAMETERS),
        ],
        "responses": generic["responses"],
    }


def openapi_media_type(accept: str) -> str:
    """The OpenAPI 3.0 media type (what the landing page advertises), unless the client
    accepts plain JSON and no OpenAPI or wildcard type."""
    wanted = accept.lower()
    plain_only = "application/json" in wanted and not any(
        media in wanted for media in ("openapi", "*/*", "application/*")
    )
    return JSON if plain_only else OPENAPI


def serve_openapi_30(
    app: FastAPI, settings: ServiceSettings, registry: AnalysisRegistry
) -> OpenApiDocuments:
    """Make ``app.openapi`` the 3.0 document (built once); return the per-catalog builder."""
    documents = OpenApiDocuments(app.openapi, settings, registry)
    app.openapi = documents.base  # type: ignore[method-assign]
    return documents
