"""Feature documents shared by the items route and the single-feature fast path, so both
answer the same bytes, and their JSON-FG and GML encodings."""

from __future__ import annotations

import hashlib

import orjson
from starlette.requests import Request
from starlette.responses import Response

from layers.access.caller import PUBLIC_SCOPE
from layers.catalog import Layer
from layers.crs import CrsInfo, content_crs_header
from layers.errors import NotFound
from layers.lru import BoundedCache
from ogc.common.gml import GML_MEDIA_TYPE, gml_collection, gml_feature
from ogc.common.jsonfg import jsonfg_collection, jsonfg_feature
from ogc.http import paths
from ogc.http.links import GEOJSON, HTML, JSON, link

JSONFG = "application/fg+json"


def feature_document(feature: str, base: str, layer: Layer, feature_id: str) -> bytes:
    """The Feature text PostGIS wrote, with the links spliced in before its closing brace
    (shared with ``feature_fastpath`` so both answer the same bytes)."""
    collection, items = _hrefs_of(base, layer.id)
    item = items + paths.segment(feature_id)  # paths.ITEM, its id filled in
    links = [
        link(item, "self", GEOJSON, "This feature"),
        link(f"{item}?f=html", "alternate", HTML, "This feature as HTML"),
        link(collection, "collection", JSON, layer.title),
        link(f"{item}/versions", "version-history", GEOJSON, "This feature's versions"),
    ]
    return feature.encode()[:-1] + b',"links":' + orjson.dumps(links) + b"}"


_HREFS: BoundedCache[tuple[str, str], tuple[str, str]] = BoundedCache(256)


def _hrefs_of(base: str, layer_id: str) -> tuple[str, str]:
    """A collection's URL and ``paths.ITEM``'s up to the feature's id, per base URL and
    layer: filling templates costs more than the rest of a feature's links (memoised)."""
    found = _HREFS.get((base, layer_id))
    if found is None:
        collection = paths.href(base, paths.COLLECTION, collectionId=layer_id)
        item = paths.href(base, paths.ITEM, collectionId=layer_id)  # {featureId} unfilled
        items = item.removesuffix("{featureId}")
        found = _HREFS.put((base, layer_id), (collection, items))
    return found


def missing_feature(layer: Layer, feature_id: str) -> NotFound:
    return NotFound(f"feature {feature_id} does not exist in collection '{layer.id}'")


def representation_variant(request: Request, output: str, scope: str) -> str:
    """The ETag suffix of a feature representation other than the plain GeoJSON one
    (``layers.edit.revision.Revision.etag``): query, format and the caller's scope."""
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    if output == "json" and not query and scope == PUBLIC_SCOPE:
        return ""
    key = "\x00".join((query, output, scope))
    return hashlib.blake2b(key.encode(), digest_size=6).hexdigest()


def alternate_encoding(
    geojson: bytes, output: str, layer: Layer, crs: CrsInfo, base: str, headers: dict[str, str]
) -> Response:
    """A GeoJSON feature or page re-encoded as JSON-FG or GML SF-0 (``output``), so those
    answers carry exactly what the GeoJSON one does."""
    document = orjson.loads(geojson)
    collection = document.get("type") == "FeatureCollection"
    headers["Content-Crs"] = content_crs_header(crs)
    if output == "jsonfg":
        encoded = (jsonfg_collection if collection else jsonfg_feature)(document, layer, crs)
        return Response(orjson.dumps(encoded), media_type=JSONFG, headers=headers)
    namespace = paths.href(base, paths.COLLECTION, collectionId=layer.id)
    body = (gml_collection if collection else gml_feature)(document, layer, crs, namespace)
    return Response(body, media_type=GML_MEDIA_TYPE, headers=headers)
