"""A collection's feature schema (``/collections/{id}/schema``; OGC API – Features Part 5,
"Returnables and Receivables"): what a feature carries and what an edit may send.

Each property's JSON Schema is the queryable's (one description of a field's type); the
roles say which member is the id and which the primary geometry, ``required`` lists the
owner's required fields, and ``additionalProperties`` is false unless the owner lets edits
add fields: an edit naming anything else is refused (422), as the queryables refuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from layers.catalog import Layer
from layers.cql2.queryables import JSON_SCHEMA_DIALECT, Queryable
from layers.features.filters import GEOMETRY_QUERYABLE

ACCEPTED_GEOMETRY = {  # a multi column also takes single parts (promoted as ingest does)
    "multipoint": "point-or-multipoint",
    "multilinestring": "linestring-or-multilinestring",
    "multipolygon": "polygon-or-multipolygon",
}


def feature_schema(
    layer: Layer, queryables: Mapping[str, Queryable], base_url: str, *, title: str
) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": _id_schema(layer)}
    for name, queryable in queryables.items():
        schema = queryable.json_schema()
        if name == GEOMETRY_QUERYABLE:
            kind = str(schema.get("format", "")).removeprefix("geometry-")
            schema["format"] = f"geometry-{ACCEPTED_GEOMETRY.get(kind, kind)}"
            schema["x-ogc-role"] = "primary-geometry"
        elif name == layer.id_field:
            continue  # it is the "id" member
        properties[name] = schema
    document: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{base_url.rstrip('/')}/collections/{quote(layer.id, safe='')}/schema",
        "title": title,
        "type": "object",
        "properties": properties,
        "additionalProperties": layer.edit_rules.additional_properties,
    }
    if layer.edit_rules.required:
        document["required"] = list(layer.edit_rules.required)
    return document


def _id_schema(layer: Layer) -> dict[str, Any]:
    field = layer.field(layer.id_field) if layer.id_field else None
    kind = "string" if field is not None and field.type == "string" else "integer"
    return {"type": kind, "readOnly": True, "x-ogc-role": "id"}
