"""Geometry clean-up on the way in: reproject, repair, drop empties, promote to multi."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

GeometryArray = NDArray[np.object_]

_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


@dataclass
class RepairCounts:
    """What the clean-up changed, reported to the user and kept in the lineage."""

    made_valid: int = 0
    dropped_empty: int = 0
    promoted_to_multi: int = 0
    dropped_z: int = 0
    geometry_types: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, int]:
        return {
            "made_valid": self.made_valid,
            "dropped_empty": self.dropped_empty,
            "promoted_to_multi": self.promoted_to_multi,
            "dropped_z": self.dropped_z,
        }


def transformer_to(source: CRS, target_epsg: int) -> Transformer | None:
    """A lon/lat-ordered transformer, or None when no transformation is needed."""
    target = CRS.from_epsg(target_epsg)
    if source.equals(target):
        return None
    return Transformer.from_crs(source, target, always_xy=True)


def reproject(geoms: GeometryArray, transformer: Transformer | None) -> GeometryArray:
    if transformer is None:
        return geoms

    def _apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _apply)  # type: ignore[no-any-return]


def target_geometry_type(declared: str | None, keep_z: bool = False) -> str:
    """The column type a layer is stored as, from the type its source declares.

    Polygon and line sources are stored as multi types because shapefiles (and many
    GeoJSON files) mix single and multi parts under one declared type; pure point
    layers stay points so clients get the simplest type. Z stays only when asked for.
    """
    text = declared or ""
    z = "Z" if keep_z and (" Z" in text or "25D" in text) else ""
    base = text.replace(" Z", "").replace("25D", "").replace(" M", "").strip()
    if base in ("Point", "MultiPoint"):
        return base + z
    if "Polygon" in base:
        return "MultiPolygon" + z
    if "LineString" in base:
        return "MultiLineString" + z
    return "Geometry" + z


def clean(
    geoms: GeometryArray, counts: RepairCounts, target: str, *, keep_z: bool = False
) -> GeometryArray:
    """Repair one batch: drop Z unless kept, make valid, promote to the target type."""
    geoms = np.asarray(geoms, dtype=object)
    if not keep_z:
        has_z = shapely.has_z(geoms)
        counts.dropped_z += int(has_z.sum())
        if has_z.any():
            geoms[has_z] = shapely.force_2d(geoms[has_z])
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        counts.made_valid += int(invalid.sum())
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        geoms[invalid] = _keep_dominant_dimension(geoms[invalid])
    if target.startswith(("Multi", "Geometry")):
        geoms = promote_to_multi(geoms, counts)
    counts.geometry_types.update(g.geom_type for g in geoms if g is not None)
    return geoms


def empty_mask(geoms: GeometryArray) -> NDArray[np.bool_]:
    return shapely.is_missing(geoms) | shapely.is_empty(geoms)  # type: ignore[no-any-return]


def _keep_dominant_dimension(geoms: GeometryArray) -> GeometryArray:
    """make_valid may return a collection (polygon + stray line): keep the polygons."""
    out = geoms.copy()
    for i, geom in enumerate(geoms):
        if geom is not None and geom.geom_type == "GeometryCollection":
            dims = [shapely.get_dimensions(g) for g in geom.geoms]
            top = max(dims, default=0)
            parts = [g for g, d in zip(geom.geoms, dims, strict=True) if d == top]
            out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out


def promote_to_multi(geoms: GeometryArray, counts: RepairCounts) -> GeometryArray:
    types = shapely.get_type_id(geoms)
    single = np.isin(types, [0, 1, 3])  # Point, LineString, Polygon
    counts.promoted_to_multi += int(single.sum())
    out = geoms.copy()
    for i in np.flatnonzero(single):
        geom = geoms[i]
        out[i] = getattr(shapely, _MULTI[geom.geom_type])([geom])
    return out
