"""Request bodies of an edit, checked against the layer's schema (ADR 0013, decision 7).

A body is a GeoJSON Feature (create, replace) or a JSON Merge Patch of one (update). Each
property must be one of the layer's fields and of its type; the geometry must be GeoJSON
that shapely can build. Errors name the member, so a person can fix the body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import shapely
import shapely.geometry
from shapely.errors import GEOSException

from layers.catalog import Layer
from layers.crs import CrsInfo, ServedCrs
from layers.errors import IngestError, InvalidParameter

NEW_FIELD_NAME = re.compile(r"\w{1,60}")
GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)


class InvalidFeature(IngestError):
    """The body is well-formed JSON but does not fit the layer's schema (HTTP 422)."""


@dataclass(frozen=True)
class FeatureBody:
    """What a create or replace sets: every field (absent ones are NULL) and the geometry
    in x/y order of ``crs``, the CRS the body's geometry is in (None: no geometry given)."""

    properties: Mapping[str, Any]
    geometry: shapely.Geometry | None
    crs: CrsInfo


def parse_feature(document: Any, layer: Layer, crs: CrsInfo, served: ServedCrs) -> FeatureBody:
    """A GeoJSON (or JSON-FG) Feature for ``layer``; an ``id`` member is ignored (the URI
    names the feature, Part 4 /req/features/geojson-create-replace). ``crs``: the body's
    (``Content-Crs``); a JSON-FG ``place`` is the geometry, in its ``coordRefSys`` (one of
    ``served``)."""
    if not isinstance(document, dict) or document.get("type") != "Feature":
        raise InvalidParameter('the body must be a GeoJSON Feature ({"type": "Feature", ...})')
    properties = document.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidFeature("'properties' must be a JSON object or null")
    geometry, crs = primary_geometry(document, layer, crs, served)
    return FeatureBody(
        properties=checked_properties(properties, layer),
        geometry=parse_geometry(geometry, crs),
        crs=crs,
    )


def primary_geometry(
    document: dict[str, Any], layer: Layer, crs: CrsInfo, served: ServedCrs
) -> tuple[Any, CrsInfo]:
    """JSON-FG: a non-null ``place`` wins over ``geometry`` (which is then at most its WGS 84
    fallback); its CRS is its own ``coordRefSys``, else the document's, else ``crs``."""
    place = document.get("place")
    if place is None:
        return document.get("geometry"), crs
    if not isinstance(place, dict):
        raise InvalidFeature("'place' must be a JSON-FG geometry object or null")
    named = place.get("coordRefSys", document.get("coordRefSys"))
    if named is None:
        return place, crs
    uri = named.get("href") if isinstance(named, dict) else named
    if not isinstance(uri, str):
        raise InvalidFeature("'coordRefSys' must be a CRS URI or {\"href\": URI}")
    return place, served.parse(uri, "coordRefSys", layer)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge member by member, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def check_patch(patch: Any, feature_id: str) -> None:
    """A patch is an object that leaves the identifier alone (Part 4 /req/features/
    update-json-merge-patch: a change of the ``id`` role is rejected)."""
    if not isinstance(patch, dict):
        raise InvalidParameter("a JSON Merge Patch of a feature must be a JSON object")
    if "id" in patch and str(patch["id"]) != feature_id:
        raise InvalidParameter(
            f"'id' cannot be changed: the feature is {feature_id}; remove 'id' from the patch"
        )
    if "properties" in patch and not isinstance(patch["properties"], dict | None):
        raise InvalidFeature("'properties' in a patch must be a JSON object or null")


def checked_properties(properties: Mapping[str, Any], layer: Layer) -> dict[str, Any]:
    """Every field of ``layer`` with its value from ``properties`` (None when absent),
    converted for the database; an unknown name, a wrong type or an empty required field
    is a 422 naming it. The id field is left out: the URL names the feature, and the
    server sets the id of a new one."""
    unknown = [name for name in properties if layer.field(name) is None]
    if unknown and not layer.edit_rules.additional_properties:
        names = ", ".join(layer.field_names) or "none"
        raise InvalidFeature(
            f"property '{unknown[0][:60]}' is not a field of '{layer.id}'; its fields: {names}"
        )
    values = {
        f.name: _value(f.name, f.type, properties.get(f.name))
        for f in layer.fields
        if f.name != layer.id_field
    }
    values |= {name: _new_value(name, properties[name]) for name in unknown}
    missing = [name for name in layer.edit_rules.required if values.get(name) is None]
    if missing:
        raise InvalidFeature(
            f"property '{missing[0]}' is required in '{layer.id}' (its schema: "
            f"/collections/{layer.id}/schema)"
        )
    return values


def new_field_type(name: str, value: Any) -> str:
    """The type of the field a property that is not yet one becomes (``additionalProperties``)."""
    if not NEW_FIELD_NAME.fullmatch(name) or name in ("fid", "geom"):
        raise InvalidFeature(
            f"property '{name[:60]}' cannot become a field: use letters, digits and _ "
            "(at most 60), not fid or geom"
        )
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str)):
        if isinstance(value, types):
            return kind
    raise InvalidFeature(f"property '{name}' must be text, a number or a boolean to become a field")


def _new_value(name: str, value: Any) -> Any:
    if value is not None:
        new_field_type(name, value)
    return value


def _value(name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "date": isinstance(value, str),
        "timestamp": isinstance(value, str),
    }.get(kind, False)
    if not ok:
        raise InvalidFeature(f"property '{name}' must be a {kind}, got {value!r:.60}")
    if kind == "date":
        return _parsed(name, kind, date.fromisoformat, value)
    if kind == "timestamp":
        moment = _parsed(name, kind, datetime.fromisoformat, value)
        if moment.tzinfo is None:
            raise InvalidFeature(f"property '{name}' needs a UTC offset, e.g. {value}+08:00")
        return moment
    return value


def _parsed(name: str, kind: str, parse: Any, value: str) -> Any:
    try:
        return parse(value)
    except ValueError:
        example = "2024-05-01" if kind == "date" else "2024-05-01T08:00:00+08:00"
        raise InvalidFeature(f"property '{name}' must be an ISO {kind} like {example}") from None


def parse_geometry(value: Any, crs: CrsInfo) -> shapely.Geometry | None:
    """A GeoJSON geometry as shapely, x (longitude/easting) first whatever ``crs``'s order."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise InvalidFeature(
            "'geometry' must be a GeoJSON geometry of type " + ", ".join(sorted(GEOMETRY_TYPES))
        )
    try:
        geometry = shapely.geometry.shape(value)
    except (GEOSException, ValueError, TypeError, IndexError, KeyError, AttributeError):
        raise InvalidFeature(
            f"'geometry' is not a valid GeoJSON {value['type']}: check its coordinates"
        ) from None
    if crs.swap_axes:  # latitude/northing first in the body: PostGIS keeps x first
        geometry = shapely.transform(geometry, lambda xy: xy[:, ::-1])
    return geometry
