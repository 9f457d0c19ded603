"""Change between two versions of a layer: the land-use transition matrix (土地利用转移矩阵)
and what was added inside protected zones.

Areas are ellipsoidal (geodesic edges, ``geodesy.geodesic_area_km2``), as the 国土调查 rules
prescribe. A categorical layer is taken to be a partition (parcels do not overlap); land of
version A that version B does not cover goes to the column ``ABSENT`` (and B's new land to the
row ``ABSENT``), so each row sums to A's class total and each column to B's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from spatial.geodesy import geodesic_area_km2

ABSENT = "(absent)"
WHOLE = "all"  # the unit of a matrix without units
Checkpoint = Callable[[], None]
Key = tuple[str, str, str]  # unit, class in A, class in B


def _areas(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    return np.array([geodesic_area_km2(g) if not g.is_empty else 0.0 for g in geoms])


def in_units(
    frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None, unit_field: str
) -> tuple[NDArray[np.object_], NDArray[np.str_], NDArray[np.str_]]:
    """Each feature's pieces in each unit: (geometries, class values, unit ids)."""
    geoms = frame.geometry.to_numpy()
    classes = frame["value"].astype(str).to_numpy()
    if units is None:
        return geoms, classes, np.full(len(geoms), WHOLE)
    unit_geoms = units.geometry.to_numpy()
    left, right = shapely.STRtree(unit_geoms).query(geoms, predicate="intersects")
    cut = shapely.intersection(geoms[left], unit_geoms[right])
    polygonal = shapely.area(cut) > 0
    ids = units[unit_field].astype(str).to_numpy()
    return cut[polygonal], classes[left][polygonal], ids[right][polygonal]


def transitions(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame | None = None,
    unit_field: str = "adcode",
    checkpoint: Checkpoint | None = None,
) -> pd.DataFrame:
    """Rows of unit, from_class, to_class, area_km2 (zero rows left out)."""
    ga, ca, ua = in_units(a, units, unit_field)
    gb, cb, ub = in_units(b, units, unit_field)
    left, right = shapely.STRtree(gb).query(ga, predicate="intersects")
    same = ua[left] == ub[right]
    left, right = left[same], right[same]
    moved: dict[Key, float] = defaultdict(float)
    for start in range(0, len(left), 512):
        if checkpoint is not None:
            checkpoint()
        i, j = left[start : start + 512], right[start : start + 512]
        pieces = _areas(shapely.intersection(ga[i], gb[j]))
        for unit, was, now, km2 in zip(ua[i], ca[i], cb[j], pieces, strict=True):
            moved[(unit, was, now)] += km2
    _add_absent(moved, ua, ca, _areas(ga), to_absent=True)
    _add_absent(moved, ub, cb, _areas(gb), to_absent=False)
    rows = [(u, f, t, km2) for (u, f, t), km2 in sorted(moved.items()) if km2 > 0]
    return pd.DataFrame(rows, columns=["unit", "from_class", "to_class", "area_km2"])


def _add_absent(
    moved: dict[Key, float],
    units: NDArray[np.str_],
    classes: NDArray[np.str_],
    areas: NDArray[np.float64],
    *,
    to_absent: bool,
) -> None:
    """A class total less what the other version covers of it: land that left (or came)."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for unit, value, km2 in zip(units, classes, areas, strict=True):
        totals[(unit, value)] += km2
    covered: dict[tuple[str, str], float] = defaultdict(float)
    for (unit, was, now), km2 in list(moved.items()):
        covered[(unit, was) if to_absent else (unit, now)] += km2
    for (unit, value), total in totals.items():
        rest = total - covered[(unit, value)]
        if rest > 1e-9 * max(total, 1.0):  # float rounding is no land
            moved[(unit, value, ABSENT) if to_absent else (unit, ABSENT, value)] = rest


def matrix(rows: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """unit -> from_class -> to_class -> km²: the matrix of each unit."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for unit, was, now, km2 in rows.itertuples(index=False):
        out.setdefault(unit, {}).setdefault(was, {})[now] = float(km2)
    return out


def added_in_zones(
    a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Version B's land that version A did not have, inside the zones: one row per B feature
    and zone, ``change`` 'new' (the feature meets no A feature) or 'grown'."""
    ga, gb = a.geometry.to_numpy(), b.geometry.to_numpy()
    zone_geoms = zones.geometry.to_numpy()
    tree_a = shapely.STRtree(ga)
    near, zone = shapely.STRtree(zone_geoms).query(gb, predicate="intersects")
    records = []
    for i, z in zip(near, zone, strict=True):
        before = ga[tree_a.query(gb[i], predicate="intersects")]
        overlap = shapely.union_all(shapely.intersection(before, gb[i])) if len(before) else None
        new = overlap is None or overlap.area == 0
        grown = gb[i] if new else shapely.difference(gb[i], shapely.union_all(before))
        inside = shapely.intersection(grown, zone_geoms[z])
        if inside.is_empty or (gb[i].area > 0 and inside.area == 0):
            continue
        records.append(
            {
                "fid": int(b["fid"].iloc[i]),
                "zone_fid": int(zones["fid"].iloc[z]),
                "change": "new" if new else "grown",
                "area_km2": geodesic_area_km2(inside),
                "geometry": inside,
            }
        )
    columns = ["fid", "zone_fid", "change", "area_km2", "geometry"]
    return gpd.GeoDataFrame(records, columns=columns, geometry="geometry", crs=b.crs)
