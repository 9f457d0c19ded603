"""Feature documents shared by the items route and the single-feature fast path, so both
answer the same bytes."""

from __future__ import annotations

import orjson

from layers.catalog import Layer
from layers.errors import NotFound
from ogc.http import paths
from ogc.http.links import GEOJSON, HTML, JSON, link


def feature_document(feature: str, base: str, layer: Layer, feature_id: str) -> bytes:
    """The Feature text PostGIS wrote, with the links spliced in before its closing brace
    (shared with ``feature_fastpath`` so both answer the same bytes)."""
    collection = paths.href(base, paths.COLLECTION, collectionId=layer.id)
    item = paths.href(base, paths.ITEM, collectionId=layer.id, featureId=feature_id)
    links = [
        link(item, "self", GEOJSON, "This feature"),
        link(f"{item}?f=html", "alternate", HTML, "This feature as HTML"),
        link(collection, "collection", JSON, layer.title),
    ]
    return feature.encode()[:-1] + b',"links":' + orjson.dumps(links) + b"}"


def missing_feature(layer: Layer, feature_id: str) -> NotFound:
    return NotFound(f"feature {feature_id} does not exist in collection '{layer.id}'")
