"""JSON-FG (OGC Features and Geometries JSON, 0.2) documents made from the GeoJSON that
PostGIS renders, so every JSON-FG answer has the same features, ids and properties as the
GeoJSON one (one query, one set of rules).

A geometry in WGS 84 lon/lat (CRS84) stays in ``geometry`` with ``place`` null; in any
other CRS it moves to ``place`` and ``geometry`` is null (JSON-FG allows no fallback, and
a second rendering per feature would double the page's cost). ``time`` is the layer's
time field (an instant) or its start and end fields (an interval), null otherwise.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from layers.catalog import Layer
from layers.crs import CrsInfo
from layers.platform import CRS84_URI

JSONFG_CONFORMANCE = ["http://www.opengis.net/spec/json-fg-1/0.2/conf/core"]


def jsonfg_feature(feature: dict[str, Any], layer: Layer, crs: CrsInfo) -> dict[str, Any]:
    """One feature, with ``conformsTo`` and ``coordRefSys`` (a document of its own)."""
    document = {"conformsTo": JSONFG_CONFORMANCE, "coordRefSys": crs.uri}
    return document | _member(feature, layer, crs)


def jsonfg_collection(collection: dict[str, Any], layer: Layer, crs: CrsInfo) -> dict[str, Any]:
    """A page; its features share the collection's ``coordRefSys``."""
    features = [_member(f, layer, crs) for f in collection.get("features") or []]
    head = {
        "type": "FeatureCollection",
        "conformsTo": JSONFG_CONFORMANCE,
        "featureType": layer.id,
        "coordRefSys": crs.uri,
        "features": features,
    }
    rest = {k: v for k, v in collection.items() if k not in ("type", "features")}
    return head | rest


def _member(feature: dict[str, Any], layer: Layer, crs: CrsInfo) -> dict[str, Any]:
    geometry = feature.get("geometry")
    in_wgs84 = crs.uri == CRS84_URI
    properties = feature.get("properties") or {}
    member: dict[str, Any] = {"type": "Feature", "featureType": layer.id}
    if "id" in feature:
        member["id"] = feature["id"]
    member |= {
        "time": feature_time(layer, properties),
        "place": None if in_wgs84 else geometry,
        "geometry": geometry if in_wgs84 else None,
        "properties": properties,
    }
    return member | {k: v for k, v in feature.items() if k not in (*member, "bbox")}


def feature_time(layer: Layer, properties: dict[str, Any]) -> dict[str, Any] | None:
    """JSON-FG ``time``: ``date``/``timestamp`` of an instant, ``interval`` of a start and
    end field (``..`` for an open end)."""
    if layer.temporal_field is None:
        return None
    start = properties.get(layer.temporal_field)
    if layer.temporal_end_field is not None:
        end = properties.get(layer.temporal_end_field)
        if start is None and end is None:
            return None
        return {"interval": [_instant(start) or "..", _instant(end) or ".."]}
    if start is None:
        return None
    return {"date" if _is_date(start) else "timestamp": start}


def _instant(value: Any) -> str | None:
    return None if value is None else str(value)


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10
