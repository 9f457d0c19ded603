"""Queryables: the properties a filter may name, and their JSON Schema document
(OGC API - Features - Part 3, ``/collections/{collectionId}/queryables``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import quote

QueryableType = Literal["string", "integer", "number", "boolean", "date", "timestamp", "geometry"]
GeometryType = Literal[
    "point", "multipoint", "linestring", "multilinestring", "polygon", "multipolygon",
    "geometrycollection", "point-or-multipoint", "linestring-or-multilinestring",
    "polygon-or-multipolygon", "any",
]  # fmt: skip

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# JSON Schema for each non-spatial type (Part 3, /req/queryables/get-queryables-response).
_TYPE_SCHEMAS: dict[str, dict[str, str]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
}


@dataclass(frozen=True)
class Queryable:
    """A property that filters may use.

    ``name`` is what clients write, ``column`` the SQL column it reads (quoted as
    an identifier, never interpolated). Geometry queryables must use the layer's
    geometry column, in the layer's storage SRID.
    """

    name: str
    column: str
    type: QueryableType
    title: str | None = None
    description: str | None = None
    geometry_type: GeometryType = "any"

    def __post_init__(self) -> None:
        if not self.name or not self.column:
            raise ValueError("a queryable needs a name and a column")
        if self.type not in get_args(QueryableType):
            raise ValueError(f"queryable {self.name!r} has unknown type {self.type!r}")
        if self.geometry_type not in get_args(GeometryType):
            raise ValueError(f"queryable {self.name!r}: bad geometry_type {self.geometry_type!r}")

    @property
    def is_temporal(self) -> bool:
        """True for date and timestamp queryables (usable in T_* functions)."""
        return self.type in ("date", "timestamp")

    def json_schema(self) -> dict[str, Any]:
        """This queryable as a JSON Schema property."""
        if self.type == "geometry":
            # Spatial queryables carry a format and no type/$ref (Part 3, requirement D/E).
            schema: dict[str, Any] = {"format": f"geometry-{self.geometry_type}"}
        else:
            schema = dict(_TYPE_SCHEMAS[self.type])
        schema["title"] = self.title or self.name
        if self.description:
            schema["description"] = self.description
        return schema


def queryables_json_schema(
    collection_id: str,
    queryables: Mapping[str, Queryable],
    base_url: str,
    *,
    title: str | None = None,
) -> dict[str, Any]:
    """The Queryables resource of a collection, as served with ``application/schema+json``.

    ``additionalProperties`` is false: a filter naming anything else is a 400.
    """
    document: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{base_url.rstrip('/')}/collections/{quote(collection_id, safe='')}/queryables",
        "type": "object",
    }
    if title:
        document["title"] = title
    document["properties"] = {name: q.json_schema() for name, q in queryables.items()}
    document["additionalProperties"] = False
    return document
