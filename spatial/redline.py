"""三区三线 red-line conflict check: how much of each parcel lies in each protected class.

Areas are ellipsoidal (geodesic edges on the CGCS2000 ellipsoid, ``geodesic_areas_m2``), as
the 第三次全国国土调查 rules measure 图斑 areas — not areas in a map projection. The protected
zones of each class are dissolved and cut into small disjoint pieces (``overlay.subdivide``),
so overlapping zones of one class count once and each intersection stays small; the overlaps
are then split by county the same way. Totals per class and parcel come from the overlaps
themselves, never from the county split (published county outlines may overlap by slivers).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from spatial.errors import POLYGONAL, check_geometry_types
from spatial.geodesy import STORAGE_CRS, Checkpoint, geodesic_areas_m2
from spatial.overlay import subdivide, subdivided

ECOLOGICAL_RED_LINE = "生态保护红线"
PERMANENT_FARMLAND = "永久基本农田"
URBAN_BOUNDARY = "城镇开发边界"
COMPLIANT, NOT_COMPLIANT, REVIEW = "符合", "不符合", "需审查"
OUTSIDE_NOISE_M2 = 0.01  # a part's area minus its units' parts: below this, rounding


@dataclass(frozen=True)
class Rule:
    """The verdict of a parcel, from its overlaps (m²) with each class.

    不符合 when it overlaps a prohibited class by more than ``tolerance_m2``; else 符合 when
    at most ``tolerance_m2`` of it lies outside the permitted class; else 需审查 (no conflict,
    but outside the development boundary: for the planning authority to decide).
    """

    prohibited: tuple[str, ...] = (ECOLOGICAL_RED_LINE, PERMANENT_FARMLAND)
    permitted: str | None = URBAN_BOUNDARY
    tolerance_m2: float = 1.0

    def verdict(self, area_m2: float, overlaps: dict[str, float]) -> tuple[str, str]:
        conflicts = [c for c in self.prohibited if overlaps.get(c, 0.0) > self.tolerance_m2]
        if conflicts:
            named = "、".join(f"{c} {overlaps[c]:,.1f} m²" for c in conflicts)
            return NOT_COMPLIANT, f"占用{named}"
        if self.permitted is None:
            return COMPLIANT, "未占用禁止类管控区"
        outside = area_m2 - overlaps.get(self.permitted, 0.0)
        if outside <= self.tolerance_m2:
            return COMPLIANT, f"位于{self.permitted}内，未占用{'、'.join(self.prohibited)}"
        return REVIEW, f"未占用禁止类管控区，但有 {outside:,.1f} m² 位于{self.permitted}外"

    def statement(self) -> str:
        within = f"{self.permitted}内（界外不超过 {self.tolerance_m2:g} m²）"
        permitted = (
            f"；否则全部位于{within}为“{COMPLIANT}”，部分或全部位于{self.permitted}外为“{REVIEW}”"
            if self.permitted
            else f"；否则为“{COMPLIANT}”"
        )
        return (
            f"地块与{'、'.join(self.prohibited)}重叠面积超过 {self.tolerance_m2:g} m² 为"
            f"“{NOT_COMPLIANT}”{permitted}。面积为 CGCS2000 椭球面积（测地线边）。"
        )


def class_pieces(
    zones: gpd.GeoDataFrame, class_field: str
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Each class's zones dissolved and cut into disjoint pieces: (pieces, class of each)."""
    check_geometry_types("the protected layer", zones.geom_type.unique(), POLYGONAL)
    pieces: list[shapely.Geometry] = []
    classes: list[object] = []
    for zone_class, group in zones.groupby(class_field, sort=True):
        merged = shapely.union_all(shapely.make_valid(group.geometry.values._data))
        split = subdivide(merged)
        pieces.extend(split)
        classes.extend([zone_class] * len(split))
    return np.array(pieces, dtype=object), np.array(classes, dtype=object)


def _intersections(
    left: NDArray[np.object_], right: NDArray[np.object_]
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.object_]]:
    """(left index, right index, intersection) of every pair whose interiors may meet."""
    right_idx, left_idx = shapely.STRtree(left).query(right, predicate="intersects")
    parts = shapely.intersection(left[left_idx], right[right_idx])
    keep = shapely.area(parts) > 0
    return left_idx[keep], right_idx[keep], parts[keep]


def _touching(frame: gpd.GeoDataFrame, geoms: NDArray[np.object_]) -> gpd.GeoDataFrame:
    """The rows of ``frame`` that intersect any of ``geoms`` (only those are dissolved/cut)."""
    _, hit = shapely.STRtree(frame.geometry.values._data).query(geoms, predicate="intersects")
    return frame.iloc[np.unique(hit)]


@dataclass(frozen=True)
class Overlaps:
    """``parts``: each parcel's part in each class (parcel index, class, area_m2, geometry);
    ``by_unit``: those parts split by unit (parcel, class, unit, area_m2) — the part outside
    every unit (sea, another province) has unit None."""

    parts: gpd.GeoDataFrame
    by_unit: pd.DataFrame


def overlaps_of(
    parcels: NDArray[np.object_],
    zones: gpd.GeoDataFrame,
    class_field: str,
    units: gpd.GeoDataFrame,
    unit_field: str,
    progress: Checkpoint | None = None,
) -> Overlaps:
    pieces, piece_class = class_pieces(_touching(zones, parcels), class_field)
    parcel_idx, piece_idx, cut = _intersections(parcels, pieces)
    if progress is not None:
        progress()
    parts = gpd.GeoDataFrame(
        {"parcel": parcel_idx, "class": piece_class[piece_idx]}, geometry=cut, crs=STORAGE_CRS
    ).dissolve(["parcel", "class"], as_index=False)
    parts["area_m2"] = geodesic_areas_m2(parts.geometry.values._data)
    return Overlaps(parts, _by_unit(parts, units, unit_field))


def _by_unit(parts: gpd.GeoDataFrame, units: gpd.GeoDataFrame, unit_field: str) -> pd.DataFrame:
    geoms = parts.geometry.values._data
    units = _touching(units, geoms)
    unit_geoms, unit_owner = subdivided(shapely.make_valid(units.geometry.values._data))
    part_idx, unit_idx, cut = _intersections(geoms, unit_geoms)
    rows = pd.DataFrame(
        {
            "parcel": parts["parcel"].to_numpy()[part_idx],
            "class": parts["class"].to_numpy()[part_idx],
            "unit": units[unit_field].to_numpy()[unit_owner[unit_idx]],
            "area_m2": geodesic_areas_m2(cut),
        }
    )
    inside = rows["area_m2"].groupby(part_idx).sum().reindex(range(len(parts)), fill_value=0.0)
    outside = parts["area_m2"].to_numpy() - inside.to_numpy()
    beyond = outside > OUTSIDE_NOISE_M2 + 1e-9 * parts["area_m2"].to_numpy()
    if beyond.any():
        rest = parts.loc[beyond, ["parcel", "class"]].assign(unit=None, area_m2=outside[beyond])
        rows = pd.concat([rows, pd.DataFrame(rest)], ignore_index=True)
    return rows.groupby(["parcel", "class", "unit"], dropna=False)["area_m2"].sum().reset_index()
