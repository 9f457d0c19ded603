"""OpenAPI descriptions of the items query parameters (parsed by ``ogc.common.items_request``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from layers.cql2 import Queryable

# Schema-only rules (FastAPI's ``json_schema_extra``): the routes keep their own messages.
ID_LIST = {"pattern": r"^[A-Za-z0-9_.\-]+(,[A-Za-z0-9_.\-]+)*$"}  # collection ids, comma-separated
UUID = {"format": "uuid"}
COUNT_1_1000 = {"pattern": "^(1000|[1-9][0-9]{0,2})$"}  # decimal counts as written
COUNT_0_1E9 = {"pattern": "^(1000000000|0|[1-9][0-9]{0,8})$"}


def _param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
        "style": "form",
        "explode": False,
    }


_CRS = _param("crs", "Output CRS URI (see the collection's crs list); default CRS84.")
_FORMAT = _param(
    "f",
    "Output format (jsonfg: JSON-FG, gml: GML 3.2 simple features)",
    {"type": "string", "enum": ["json", "html", "jsonseq", "csv", "jsonfg", "gml"]},
)
_PROFILE = _param(
    "profile",
    "GeoJSON profile: jsonfg (JSON-FG) or rfc7946",
    {"type": "string", "enum": ["jsonfg", "rfc7946"]},
)
_PROPERTIES = _param("properties", "Comma-separated property names to return.")
_SKIP = _param("skipGeometry", "Omit geometries.", {"type": "boolean"})
# Not an enum: any other value falls back to Accept-Language, then zh (ogc.http.negotiation)
_LANG = _param("lang", "HTML language: zh or en; otherwise Accept-Language, then zh.")
_KEY = _param("tk", "API key (or the X-OneMap-Key header); links in the answer keep it.")

ITEMS_PARAMETERS_DOC: list[dict[str, Any]] = [
    _param("limit", "Page size (default 10; above the maximum is clamped).",
           {"type": "integer", "minimum": 1}),
    _param("bbox", "minx,miny,maxx,maxy (or 6 numbers) in bbox-crs axis order; "
           "west > east crosses the antimeridian.",
           {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6}),
    _param("bbox-crs", "CRS URI of bbox; default CRS84."),
    _CRS,
    _param("datetime", "RFC 3339 instant or interval (open ends: .. or empty)."),
    _param("filter", "CQL2 filter (Part 3)."),
    _param("filter-lang", "cql2-text (default) or cql2-json",
           {"type": "string", "enum": ["cql2-text", "cql2-json"]}),
    _param("filter-crs", "CRS URI of filter geometries; default CRS84."),
    _param("sortby", "Comma-separated properties, - for descending: sortby=-name,adcode"),
    _PROPERTIES,
    _SKIP,
    _param("q", "Free-text search in name fields (comma = OR), e.g. q=天河",
           {"type": "string", "minLength": 1}),
    _param("within", "6-digit adcode: features whose point on surface lies in that area.",
           {"type": "string", "pattern": "^[0-9]{6}$"}),
    _param("after", "Page token from a next link."),
    _param("before", "Page token from a prev link."),
    _param("offset", "Rows to skip (keyset next links are faster deep into a layer).",
           {"type": "integer", "minimum": 0}),
    _FORMAT,
    _PROFILE,
    _LANG,
    _KEY,
]  # fmt: skip
_VERSION = _param(
    "version",
    "The feature as it was at this layer version (ADR 0013; 410 when it was deleted by then).",
    {"type": "integer", "minimum": 1},
)
_AS_OF = _param(
    "datetime",
    "The feature as it was at this RFC 3339 instant (with its offset): the layer version "
    "current then.",
)
FEATURE_PARAMETERS_DOC: list[dict[str, Any]] = [
    _CRS, _PROPERTIES, _SKIP, _FORMAT, _PROFILE, _LANG, _KEY, _VERSION, _AS_OF,
]  # fmt: skip


def shared_items_parameters(default_limit: int, max_limit: int) -> dict[str, dict[str, Any]]:
    """``components/parameters``: the items parameters every collection's path refers to.

    ``limit`` carries the configured default and maximum (GDAL sizes its pages from them).
    """
    shared = {p["name"]: p for p in ITEMS_PARAMETERS_DOC}
    limit_schema = {"type": "integer", "minimum": 1, "default": default_limit,
                    "maximum": max_limit}  # fmt: skip
    shared["limit"] = {**shared["limit"], "schema": limit_schema}
    return shared


def shared_parameter_refs() -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{p['name']}"} for p in ITEMS_PARAMETERS_DOC]


def queryable_parameters(
    queryables: Mapping[str, Queryable], reserved: Collection[str]
) -> list[dict[str, Any]]:
    """``name=value`` per non-spatial queryable (Part 1, §7.15.5), as ``items_request`` parses.

    A queryable named like a standard parameter (``limit``, ``f`` …) cannot be filtered
    that way and is left out (its name is the standard parameter's); so is the geometry.
    """
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": _queryable_description(queryable),
            "schema": _value_schema(queryable),
            "style": "form",
            "explode": False,
        }
        for name, queryable in queryables.items()
        if queryable.type != "geometry" and name not in reserved
    ]


def _value_schema(queryable: Queryable) -> dict[str, Any]:
    schema = queryable.json_schema()
    schema.pop("description", None)
    return schema


def _queryable_description(queryable: Queryable) -> str:
    name = queryable.name
    label = f"{name} ({queryable.title})" if queryable.title not in (None, name) else name
    text = f"Only features whose {label} equals this value"
    if queryable.type == "string":
        text += " (a value ending in * matches a prefix, e.g. 4401*)"
    return text + "."
