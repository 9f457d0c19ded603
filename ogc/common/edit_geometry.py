"""An edited geometry made storable by ingest's rules (ADR 0013, decision 7).

The same steps a published file's geometries take (``ingest.geometry``): reprojected to
the storage CRS, Z/M dropped and invalid rings repaired, single parts promoted to multi
for a multi column; then it must be of the layer's type, non-empty and inside the service
area (the layer's ``serviceArea``, else Guangdong: ``ingest.crs.lands_in_guangdong``).
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS

from ingest.crs import lands_in_area, lands_in_guangdong
from ingest.geometry import RepairCounts, promotion_mask, repair, reproject, transformer_to
from layers.catalog import Layer
from layers.crs import CrsInfo
from layers.edit.body import FeatureBody, InvalidFeature
from layers.edit.store import Values

MULTI_OF = {0: shapely.MultiPoint, 1: shapely.MultiLineString, 3: shapely.MultiPolygon}
SINGLE_OF_MULTI = {
    "MultiPoint": "Point",
    "MultiLineString": "LineString",
    "MultiPolygon": "Polygon",
}


def feature_values(layer: Layer, feature: FeatureBody) -> Values:
    """A create's or replace's body as stored, from the CRS its geometry is in."""
    return stored_values(layer, dict(feature.properties), feature.geometry, feature.crs)


def stored_values(
    layer: Layer, properties: dict[str, object], geometry: shapely.Geometry | None, crs: CrsInfo
) -> Values:
    if geometry is None:
        raise InvalidFeature(f"'geometry' is required: '{layer.id}' stores a {layer.geometry_type}")
    geoms = np.array([geometry], dtype=object)
    if not crs.same_as_storage:
        geoms = reproject(geoms, transformer_to(CRS.from_epsg(crs.srid), layer.storage_srid))
    counts = RepairCounts()
    geoms = repair(geoms, counts)
    target = layer.geometry_type or "Geometry"
    if promotion_mask(shapely.get_type_id(geoms), target)[0]:
        geoms[0] = MULTI_OF[int(shapely.get_type_id(geoms[0]))]([geoms[0]])
        counts.promoted_to_multi += 1
    stored = geoms[0]
    if target in SINGLE_OF_MULTI.values() and shapely.get_num_geometries(stored) == 1:
        stored = shapely.get_geometry(stored, 0)  # a one-part multi fits a single column
    _check_type(layer, target, stored)
    box = [float(v) for v in stored.bounds]
    bounds = (box[0], box[1], box[2], box[3])
    _check_area(layer, bounds)
    return Values(
        properties=properties,
        wkb=shapely.to_wkb(stored),
        bounds=bounds,
        repairs={k: v for k, v in counts.to_json().items() if v},
    )


def _check_area(layer: Layer, bounds: tuple[float, float, float, float]) -> None:
    """Inside the layer's service area (its owner's ``serviceArea``), else Guangdong."""
    area = layer.edit_rules.service_area
    inside = (
        lands_in_guangdong(layer.storage_srid, bounds)
        if area is None
        else lands_in_area(layer.storage_srid, bounds, area)
    )
    if not inside:
        name = "Guangdong" if area is None else f"{list(area)}, set by the layer's owner"
        raise InvalidFeature(
            f"'geometry' lies outside the service area ({name}): bounds {bounds} in "
            f"EPSG:{layer.storage_srid}; check the coordinates' order and Content-Crs"
        )


def _check_type(layer: Layer, target: str, stored: shapely.Geometry) -> None:
    if stored.is_empty:
        raise InvalidFeature("'geometry' is empty (or nothing of it was left by the repair)")
    kind = stored.geom_type
    if not target.startswith("Geometry") and kind != target.removesuffix("Z"):
        raise InvalidFeature(f"'geometry' must be a {target} for '{layer.id}', got a {kind}")
