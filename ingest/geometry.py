"""Geometry clean-up on the way in: reproject, repair, drop empties, promote to multi."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

GeometryArray = NDArray[np.object_]


@dataclass
class RepairCounts:
    """What the clean-up changed, reported to the user and kept in the lineage."""

    made_valid: int = 0
    dropped_empty: int = 0
    promoted_to_multi: int = 0
    dropped_z: int = 0
    dropped_m: int = 0
    geometry_types: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, int]:
        return {
            "made_valid": self.made_valid,
            "dropped_empty": self.dropped_empty,
            "promoted_to_multi": self.promoted_to_multi,
            "dropped_z": self.dropped_z,
            "dropped_m": self.dropped_m,
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
    unknown = not text or text in ("Unknown", "Geometry")
    z = "Z" if keep_z and (" Z" in text or "25D" in text or unknown) else ""
    base = text.replace(" Z", "").replace("25D", "").replace(" M", "").strip()
    if base in ("Point", "MultiPoint"):
        return base + z
    if "Polygon" in base:
        return "MultiPolygon" + z
    if "LineString" in base:
        return "MultiLineString" + z
    return "Geometry" + z


def repair(
    geoms: GeometryArray, counts: RepairCounts, *, keep_z: bool = False, z_column: bool = False
) -> GeometryArray:
    """Drop M always and Z unless kept, and make invalid geometries valid.

    Returns the very same array when nothing needed changing, so the caller can send
    the source WKB on untouched. With a Z column, 2D geometries get Z = 0.
    """
    has_z, has_m = shapely.has_z(geoms), shapely.has_m(geoms)
    flatten = (has_z | has_m) if not keep_z else (has_m & ~has_z)
    drop_m_only = has_m & has_z if keep_z else np.zeros(len(geoms), dtype=bool)
    lift = ~has_z & ~has_m if z_column else np.zeros(len(geoms), dtype=bool)
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if not (flatten.any() or drop_m_only.any() or lift.any() or invalid.any()):
        return geoms
    geoms = geoms.copy()
    counts.dropped_z += int((has_z & flatten).sum())
    counts.dropped_m += int(has_m.sum())
    geoms[flatten] = shapely.force_2d(geoms[flatten])
    if drop_m_only.any():  # XYZM → XYZ: WKB written with three dimensions keeps Z
        geoms[drop_m_only] = shapely.from_wkb(
            shapely.to_wkb(geoms[drop_m_only], output_dimension=3)
        )
    if z_column:
        flat = ~shapely.has_z(geoms)
        geoms[flat] = shapely.force_3d(geoms[flat], 0.0)
    counts.made_valid += int(invalid.sum())
    geoms[invalid] = make_valid(geoms[invalid])
    return geoms


Bounds = list[float]  # minx, miny, maxx, maxy


def bounds_of(geoms: GeometryArray) -> Bounds | None:
    """The envelope of the non-empty geometries, or None when there are none."""
    box = [float(v) for v in shapely.total_bounds(geoms)] if len(geoms) else []
    return box if box and all(np.isfinite(box)) else None


def union_bounds(box: Bounds | None, other: Bounds | None) -> Bounds | None:
    if box is None or other is None:
        return box or other
    return [
        min(box[0], other[0]),
        min(box[1], other[1]),
        max(box[2], other[2]),
        max(box[3], other[3]),
    ]


def promotion_mask(type_ids: NDArray[np.int32], target: str) -> NDArray[np.bool_]:
    """Which geometries are single parts to store as multi (only for multi/generic columns)."""
    if not target.startswith(("Multi", "Geometry")):
        return np.zeros(len(type_ids), dtype=bool)
    return np.isin(type_ids, [0, 1, 3])


def stored_type_names(type_ids: NDArray[np.int32], promoted: NDArray[np.bool_]) -> set[str]:
    """Geometry type names after promotion (shapely ids: Point 0→4, Line 1→5, Polygon 3→6)."""
    multi_of = np.array([4, 5, 2, 6, 4, 5, 6, 7])
    stored = np.where(promoted, multi_of[np.clip(type_ids, 0, 7)], type_ids)
    # bincount, not np.unique: that imports numpy.ma (10 ms) on a one-shot CLI's first batch
    present = np.flatnonzero(np.bincount(stored[stored >= 0], minlength=8))
    return {_TYPE_NAMES[int(i)] for i in present if int(i) in _TYPE_NAMES}


def empty_mask(geoms: GeometryArray) -> NDArray[np.bool_]:
    return shapely.is_missing(geoms) | shapely.is_empty(geoms)  # type: ignore[no-any-return]


def make_valid(geoms: GeometryArray) -> GeometryArray:
    """Valid versions of invalid geometries, of the same dimension as they were.

    GEOS's make_valid may return a collection (polygon + stray line): keep the polygons.
    """
    geoms = shapely.make_valid(geoms)
    out = geoms.copy()
    for i, geom in enumerate(geoms):
        if geom is not None and geom.geom_type == "GeometryCollection":
            dims = [shapely.get_dimensions(g) for g in geom.geoms]
            top = max(dims, default=0)
            parts = [g for g, d in zip(geom.geoms, dims, strict=True) if d == top]
            out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
