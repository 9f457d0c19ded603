"""``/collections`` and ``/collections/{collectionId}``: what is published."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from layers.catalog import Layer
from ogc.deps import BaseUrlDep, CatalogDep, LayerDep
from ogc.links import CRS84, GEOJSON, JSON, epsg_uri, link

router = APIRouter(tags=["Collections"])


def collection_json(layer: Layer, base: str) -> dict[str, Any]:
    href = f"{base}/collections/{layer.id}"
    doc: dict[str, Any] = {
        "id": layer.id,
        "title": layer.title,
        "description": f"{layer.description_zh}\n\n{layer.description_en}".strip(),
        "keywords": list(layer.keywords),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": epsg_uri(layer.storage_srid),
        "extent": extent_json(layer),
        "links": [
            link(href, "self", JSON, layer.title),
            link(f"{href}/items", "items", GEOJSON, "Features as GeoJSON"),
            link(f"{base}/collections", "collection", JSON, "All collections"),
        ],
        "onemap:layer": layer_properties(layer),
    }
    if layer.license:
        doc["license"] = layer.license
    if layer.attribution:
        doc["attribution"] = layer.attribution
    return doc


def extent_json(layer: Layer) -> dict[str, Any]:
    extent: dict[str, Any] = {}
    if layer.extent:
        extent["spatial"] = {"bbox": [list(layer.extent)], "crs": CRS84}
    if layer.temporal_start or layer.temporal_end:
        interval = [
            layer.temporal_start.isoformat() if layer.temporal_start else None,
            layer.temporal_end.isoformat() if layer.temporal_end else None,
        ]
        extent["temporal"] = {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


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
        "metadata": dict(layer.metadata),
    }


@router.get("/collections", summary="The published layers")
def list_collections(catalog: CatalogDep, base: BaseUrlDep) -> dict[str, Any]:
    return {
        "links": [link(f"{base}/collections", "self", JSON, "Collections")],
        "collections": [collection_json(layer, base) for layer in catalog],
    }


@router.get("/collections/{collectionId}", summary="One published layer")
def describe_collection(layer: LayerDep, base: BaseUrlDep) -> dict[str, Any]:
    return collection_json(layer, base)
