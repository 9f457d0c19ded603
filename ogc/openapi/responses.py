"""Every operation's responses as the service really answers them (ADR 0018).

FastAPI documents one success status with ``application/json`` and a 422 validation error;
OneMap answers validation errors as 400 problems (``ogc/errors.py``), negotiates GeoJSON,
HTML, CSV, XML, tiles and images, and refuses with the statuses of the one error table.
``truthful_responses`` rewrites each operation's ``responses`` from the rules below, once
when the base document is built; the schemathesis run in ``tests/test_fuzz_api.py`` checks
that nothing outside them is ever answered.
"""

from __future__ import annotations

import re
from typing import Any

from ogc.http.links import GEOJSON, HTML, JSON, OPENAPI, STYLE_JSON, TILEJSON
from ogc.http.negotiation import FORMATS
from ogc.openapi.processes import GENERIC_EXECUTION
from tiles.service import MVT_MEDIA_TYPE

PNG = "image/png"
XML = "application/xml"
SCHEMA_JSON = "application/schema+json"
FEATURES_OUT = tuple(dict.fromkeys(FORMATS.values()))  # every encoding items answer in
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 7807 problem details with OGC API's code and description",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "description": {"type": "string"},
        "instance": {"type": "string"},
    },
}

# The success answers' media types where they are not plain JSON, by "METHOD path".
SUCCESS_TYPES: dict[str, tuple[str, ...]] = {
    "GET /": (JSON, HTML),
    "GET /conformance": (JSON, HTML),
    "GET /api": (OPENAPI, JSON),
    "GET /api.html": (HTML,),
    "GET /collections": (JSON, HTML),
    "GET /collections/{collectionId}": (JSON, HTML),
    "GET /collections/{collectionId}/queryables": (SCHEMA_JSON, HTML),
    "GET /collections/{collectionId}/schema": (SCHEMA_JSON,),
    "GET /collections/{collectionId}/items": FEATURES_OUT,
    "GET /collections/{collectionId}/items/{featureId}": FEATURES_OUT,
    "POST /collections/{collectionId}/items": (GEOJSON,),
    "PUT /collections/{collectionId}/items/{featureId}": (GEOJSON,),
    "PATCH /collections/{collectionId}/items/{featureId}": (GEOJSON,),
    "GET /collections/{collectionId}/items/{featureId}/versions": (GEOJSON,),
    "POST /collections/{collectionId}/items/{featureId}/versions/{version}/revert": (GEOJSON,),
    "GET /collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}":
        (MVT_MEDIA_TYPE,),
    "GET /collections/{collectionId}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}":
        (PNG,),
    "GET /tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": (MVT_MEDIA_TYPE,),
    "GET /collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json": (TILEJSON,),
    "GET /collections/{collectionId}/style.json": (STYLE_JSON,),
    "GET /wmts": (XML, PNG, MVT_MEDIA_TYPE, JSON, HTML),  # KVP: every WMTS request
    "GET /wmts/1.0.0/WMTSCapabilities.xml": (XML,),
    "GET /wmts/1.0.0/{layer}/{style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}":
        (PNG, MVT_MEDIA_TYPE),
    "GET /wmts/1.0.0/{layer}/{style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}/{J}/{I}":
        (JSON, HTML),
    "POST /processes/{processId}/execution": (JSON, GEOJSON, HTML),  # HTML: a report output
    "GET /jobs/{jobId}/results/{outputId}": (JSON, GEOJSON, HTML),
    "GET /search": (GEOJSON,),
}  # fmt: skip

# Further success statuses some operations answer beside FastAPI's one.
EXTRA_SUCCESS: dict[str, dict[str, str]] = {
    "POST /ingest": {"200": "A new version of an existing layer"},
    "POST /processes/{processId}/execution": {"201": "An asynchronous job was created"},
    "PUT /collections/{collectionId}/items/{featureId}": {
        "201": "The feature did not exist and was created",
        "204": "Replaced (Prefer: return=minimal)",
    },
    "PATCH /collections/{collectionId}/items/{featureId}": {"204": "Updated (return=minimal)"},
    "POST /collections/{collectionId}/items": {"204": "Created (Prefer: return=minimal)"},
}
EMPTY_SUCCESS = {"204"}  # no body, no content type
EXECUTION_PATH = re.compile(r"^/processes/[^/{]+/execution$")  # a process's own: as the generic


def truthful_responses(document: dict[str, Any]) -> None:
    """Rewrite every operation's ``responses`` in place; add the ``Problem`` schema."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)  # FastAPI's 422 body: never answered
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            operation["responses"] = responses_of(method.upper(), path, operation["responses"])


def responses_of(method: str, path: str, declared: dict[str, Any]) -> dict[str, Any]:
    """The declared successes with their real media types, then the errors of ``method path``."""
    key = f"{method} {EXECUTION_PATH.sub(GENERIC_EXECUTION, path)}"  # a process's own
    successes = {code: answer for code, answer in declared.items() if code.startswith("2")}
    for code, description in EXTRA_SUCCESS.get(key, {}).items():
        successes.setdefault(code, {"description": description})
    out = {code: _success(key, code, answer) for code, answer in successes.items()}
    wmts = path.startswith("/wmts")
    for code, description in error_statuses(method, path).items():
        out[code] = {"description": description, "content": _error_content(wmts)}
    return out


def _success(key: str, code: str, answer: dict[str, Any]) -> dict[str, Any]:
    if code in EMPTY_SUCCESS:
        return {"description": answer.get("description", "No content")}
    if key not in SUCCESS_TYPES:
        return answer
    content = answer.get("content", {})
    schema = content.get(JSON, next(iter(content.values()), {})).get("schema", {})
    return {**answer, "content": {media: {"schema": schema} for media in SUCCESS_TYPES[key]}}


def _error_content(wmts: bool) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": PROBLEM_REF}}
    if wmts:  # an OWS exception report; the gate's refusals stay problems
        return {XML: {"schema": {"type": "string"}}, **problem}
    return problem


def error_statuses(method: str, path: str) -> dict[str, str]:
    """The error statuses ``method path`` answers (``ogc/errors.py``'s table, by route kind)."""
    found = {
        "400": "A bad parameter or body; the detail names it",
        "401": "A bad, expired or wrongly signed token or key",
        "429": "The key's daily quota is used up (Retry-After)",
        "503": "Database unavailable or the server overloaded (Retry-After)",
    }
    if "{" in path or path in ("/tiles", "/search", "/ingest") or path.startswith("/admin"):
        found["404"] = "No such resource, or one the caller may not see"
    if method != "GET" or path.startswith("/admin"):
        found["403"] = "The caller may not do this (role, department, area or origin)"
    found.update(_by_kind(method, path))
    return dict(sorted(found.items()))


def _by_kind(method: str, path: str) -> dict[str, str]:
    if path.startswith("/wmts"):
        return {"501": "A WMTS request this server does not offer"}
    if path == "/ingest":
        return {
            "409": "The layer is being published by another upload",
            "413": "The upload is larger than ONEMAP_MAX_UPLOAD_MB",
            "422": "The file cannot be read or published; the detail says why",
        }
    if path.startswith("/processes/"):
        return {"409": "A result would replace an existing layer",
                "413": "The run exceeds its time or size limit"}  # fmt: skip
    if path.startswith("/collections/") and method != "GET":
        return {
            "405": "The collection is not open for editing (Allow)",
            "409": "The edit conflicts with the layer's state",
            "412": "If-Match does not match the feature's current ETag",
            "413": "The body is too large",
            "415": "The body's content type is not accepted",
            "422": "The feature does not fit the layer's schema; the detail names the field",
            "428": "The layer requires If-Match for this edit",
        }
    if path == "/collections/{collectionId}/items/{featureId}":
        return {"410": "The feature was deleted by the version asked for"}
    return {}
