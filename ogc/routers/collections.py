"""``/collections`` and ``/collections/{collectionId}``: what is published."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from layers.catalog import Layer
from layers.crs import collection_crs_uris
from layers.platform import STORAGE_SRID
from ogc.deps import BaseUrlDep, CallerDep, CatalogDep, LayerDep, listed_layers
from ogc.html import pages as html
from ogc.http import paths
from ogc.http.links import CRS84, GEOJSON, HTML, JSON, epsg_uri, link, style_links
from ogc.http.negotiation import language, output_format

SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

router = APIRouter(tags=["Collections"])


def collection_json(layer: Layer, base: str) -> dict[str, Any]:
    href = paths.href(base, paths.COLLECTION, collectionId=layer.id)

    def at(template: str) -> str:
        return paths.href(base, template, collectionId=layer.id)

    items = at(paths.ITEMS)
    doc: dict[str, Any] = {
        "id": layer.id,
        "title": layer.title,
        "description": f"{layer.description_zh}\n\n{layer.description_en}".strip(),
        "keywords": list(layer.keywords),
        "itemType": "feature",
        "crs": collection_crs_uris(layer),
        "storageCrs": epsg_uri(layer.storage_srid),
        "extent": extent_json(layer),
        "links": [
            link(href, "self", JSON, layer.title),
            link(items, "items", GEOJSON, "Features as GeoJSON"),
            link(
                at(paths.COLLECTION_TILESETS),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                JSON,
                "Vector tilesets (MVT)",
            ),
            link(
                at(paths.MAP_TILESETS),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
                JSON,
                "Map tilesets (PNG)",
            ),
            link(f"{items}?f=html", "items", HTML, "Features as HTML"),
            link(f"{items}?f=jsonseq", "items", "application/geo+json-seq", "GeoJSON-seq"),
            link(f"{items}?f=csv", "items", "text/csv", "Features as CSV"),
            link(f"{href}?f=html", "alternate", HTML, "This collection as HTML"),
            link(at(paths.QUERYABLES), QUERYABLES_REL, SCHEMA_JSON, "Queryables"),
            link(base + paths.COLLECTIONS, "collection", JSON, "All collections"),
            *style_links(base, layer.id, layer.kind),
        ],
        "onemap:layer": layer_properties(layer),
    }
    if layer.kind != "vector":
        _as_coverage(doc, href)
    elif layer.editable:  # the Versioned Features proposal's declaration (ADR 0013, 11)
        doc["versioning"] = {"timeAxis": "transaction-time", "mutationTime": "server"}
    if layer.license:
        doc["license"] = layer.license
    if layer.attribution:
        doc["attribution"] = layer.attribution
    return doc


def _as_coverage(doc: dict[str, Any], href: str) -> None:
    """A raster layer has no items, queryables or vector tiles: only map tiles."""
    doc.pop("itemType")
    doc["crs"] = [epsg_uri(STORAGE_SRID)]
    feature_only = (
        "items",
        QUERYABLES_REL,
        "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
    )
    doc["links"] = [item for item in doc["links"] if item["rel"] not in feature_only]


def extent_json(layer: Layer) -> dict[str, Any]:
    extent: dict[str, Any] = {}
    if layer.extent:
        extent["spatial"] = {"bbox": [list(layer.extent)], "crs": CRS84}
    if layer.temporal_start or layer.temporal_end:
        interval = [rfc3339(layer.temporal_start), rfc3339(layer.temporal_end)]
        extent["temporal"] = {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


def rfc3339(instant: datetime | None) -> str | None:
    """An instant in UTC with a ``Z``, as OGC API examples write it (None: open)."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def layer_properties(layer: Layer) -> dict[str, Any]:
    """The catalog fields OGC API has no slot for, kept under one prefixed key."""
    return {
        "title_zh": layer.title_zh,
        "title_en": layer.title_en,
        "level": layer.level,
        "adcode": layer.adcode,
        "department": {"id": layer.department_id, "name": layer.department_name},
        "version": layer.version,
        "updated": layer.version_created_at.isoformat(),
        "geometryType": layer.geometry_type,
        "featureCount": layer.feature_count,
        "accessLevel": layer.access_level,
        "fields": [f.to_json() for f in layer.fields],
        "temporalField": layer.temporal_field,
        "temporalEndField": layer.temporal_end_field,
        "metadata": dict(layer.metadata),
        "editable": layer.editable,  # open for editing (ADR 0013): features have a history
    }


@router.get(paths.COLLECTIONS, summary="The published layers", response_model=None)
def list_collections(
    request: Request, catalog: CatalogDep, caller: CallerDep, base: BaseUrlDep
) -> dict[str, Any] | Response:
    layers = listed_layers(catalog, caller)
    document = {
        "links": [
            link(f"{base}/collections", "self", JSON, "Collections"),
            link(f"{base}/collections?f=html", "alternate", HTML, "Collections as HTML"),
        ],
        "collections": [collection_json(layer, base) for layer in layers],
    }
    if output_format(request, ("json", "html")) == "html":
        zh = language(request) == "zh"
        for item, layer in zip(document["collections"], layers, strict=True):
            item["title_local"] = layer.title_zh if zh else layer.title_en
        title = "数据集" if zh else "Collections"
        return html.render(
            request, "collections.html", title=title, collections=document["collections"]
        )
    return document


@router.get(paths.COLLECTION, summary="One published layer", response_model=None)
def describe_collection(
    request: Request, layer: LayerDep, base: BaseUrlDep
) -> dict[str, Any] | Response:
    document = collection_json(layer, base)
    if output_format(request, ("json", "html")) == "html":
        zh = language(request) == "zh"
        extent = layer.extent
        outline = None
        if extent:
            w, s_, e, n = extent
            ring = [[w, s_], [e, s_], [e, n], [w, n], [w, s_]]
            outline = html.svg_map([{"type": "Polygon", "coordinates": [ring]}])
        return html.render(
            request,
            "collection.html",
            title=html.title_of(layer, "zh" if zh else "en"),
            description=layer.description_zh if zh else layer.description_en,
            c=document,
            svg=outline,
        )
    return document
