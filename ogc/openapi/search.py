"""OpenAPI description of ``GET /search`` (parsed by ``layers.search.params``)."""

from __future__ import annotations

from typing import Any

from layers.search.params import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY
from ogc.openapi.params import _KEY, ID_LIST, _param

_Q = {
    **_param(
        "q",
        "A place name, whole or partial (天河区, 天河), or an administrative code: 6 digits "
        "(440106), a prefix (4401), or the 9-digit form 156440106 (country code 156 + code).",
        {"type": "string", "minLength": 1, "maxLength": MAX_QUERY},
    ),
    "required": True,
}

SEARCH_PARAMETERS_DOC: list[dict[str, Any]] = [
    _Q,
    _param("limit", f"Results (1–{MAX_LIMIT}).",
           {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    _param("bbox", "CRS84 minx,miny,maxx,maxy: only results whose representative point lies "
           "inside it.",
           {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}),
    _param("adcode", "Only results inside this administrative unit (440106 or 156440106).",
           {"type": "string", "pattern": "^(156)?[0-9]{6}$"}),
    _param("layers", "Comma-separated collection ids to search (default: every searchable "
           "collection the caller may see).", {"type": "string", **ID_LIST}),
    _param("f", "Output format", {"type": "string", "enum": ["json"]}),
    _KEY,
]  # fmt: skip

_POINT_FEATURE = {
    "type": "object",
    "required": ["type", "id", "geometry", "bbox", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string", "description": "<collectionId>/<featureId>"},
        "geometry": {"type": "object", "description": "Representative point (CRS84)"},
        "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "properties": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "collection": {"type": "string"},
                "collectionTitle": {"type": "string"},
                "kind": {"type": "string", "enum": ["admin", "feature"]},
                "adcode": {"type": "string", "nullable": True},
                "level": {"type": "string", "enum": ["province", "city", "county"],
                          "nullable": True},
                "href": {"type": "string", "format": "uri",
                         "description": "The feature in OGC API – Features"},
            },
        },
    },
}  # fmt: skip
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}

SEARCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Ranked results",
        "content": {
            "application/geo+json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {"type": "array", "items": _POINT_FEATURE},
                        "numberReturned": {"type": "integer"},
                        "links": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    },
    400: {"description": "A bad parameter, named in the problem's detail", "content": _PROBLEM},
    404: {"description": "A collection in layers= that does not exist", "content": _PROBLEM},
}
