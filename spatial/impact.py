"""Affected area of an incident: which admin units it touches, by how much, and what is inside."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidParameter
from spatial.errors import check_distance_m
from spatial.geodesy import STORAGE_CRS, Checkpoint, area_km2, geodesic_buffer, within_distance


def incident_zone(incident: shapely.Geometry, radius_m: float | None) -> shapely.Geometry:
    """The affected zone: the incident buffered by ``radius_m``, or a polygon as given."""
    if incident.is_empty:
        raise InvalidParameter("the incident geometry is empty")
    polygonal = incident.geom_type in ("Polygon", "MultiPolygon")
    if radius_m is None:
        if not polygonal:
            raise InvalidParameter(
                f"a {incident.geom_type} incident needs 'radius_m' (metres around it)"
            )
        return shapely.make_valid(incident)
    check_distance_m("radius_m", radius_m)
    zone: shapely.Geometry = geodesic_buffer(np.array([incident], dtype=object), radius_m)[0]
    return zone


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The areal part of a geometry, valid (make_valid may leave a stray line or point)."""
    geom = geom if shapely.is_valid(geom) else shapely.make_valid(geom)
    parts = shapely.get_parts(geom)
    areal = parts[np.isin(shapely.get_type_id(parts), [3, 6])]  # polygons, multipolygons
    return shapely.union_all(areal) if len(areal) else shapely.Polygon()


def affected_units(
    zone: shapely.Geometry, units: gpd.GeoDataFrame, code_field: str = "adcode"
) -> gpd.GeoDataFrame:
    """Units touched by the zone, with affected km², the unit's km² and the share."""
    touched = units[units.intersects(zone)].copy()
    parts = shapely.intersection(touched.geometry.values._data, zone)
    touched["unit_area_km2"] = area_km2(touched.geometry.values._data)
    touched["affected_area_km2"] = area_km2(parts)
    touched["affected_share"] = touched["affected_area_km2"] / touched["unit_area_km2"]
    touched["geometry"] = parts
    touched = touched[touched["affected_area_km2"] > 0]
    return touched.sort_values(code_field).reset_index(drop=True)


def features_inside(
    zone: shapely.Geometry,
    layers: Mapping[str, gpd.GeoDataFrame],
    units: gpd.GeoDataFrame,
    code_field: str = "adcode",
    reach: tuple[shapely.Geometry, float] | None = None,
    progress: Checkpoint | None = None,
) -> gpd.GeoDataFrame:
    """Features of each layer inside the zone, tagged with their layer and admin unit.

    ``reach`` (incident, radius in metres): a feature is inside when its geodesic distance
    to the incident is at most the radius — the zone polygon only pre-selects.
    """
    frames = []
    for layer_id, frame in layers.items():
        inside = frame[frame.intersects(zone)].copy()
        if reach is not None and not inside.empty:
            near, _ = within_distance(reach[0], inside.geometry.values._data, reach[1], progress)
            inside = inside[near]
        if inside.empty:
            continue
        inside["unit_code"] = unit_codes(inside.geometry, units, code_field)
        inside["layer"] = layer_id
        frames.append(inside)
    if not frames:
        return gpd.GeoDataFrame({"layer": [], "unit_code": []}, geometry=[], crs=STORAGE_CRS)
    return gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=STORAGE_CRS
    )


def unit_codes(geometries: gpd.GeoSeries, units: gpd.GeoDataFrame, code_field: str) -> np.ndarray:
    """The code of the unit each geometry's representative point lies in (None: in none;
    on a shared edge, the first unit)."""
    points = gpd.GeoDataFrame(geometry=geometries.representative_point(), crs=STORAGE_CRS)
    located = gpd.sjoin(points, units[[code_field, "geometry"]], predicate="within", how="left")
    located = located[~located.index.duplicated()]
    codes: np.ndarray = located[code_field].reindex(geometries.index).to_numpy()
    return codes


def counts_per_unit(inside: gpd.GeoDataFrame) -> list[dict[str, object]]:
    if inside.empty:
        return []
    counts = inside.groupby(["unit_code", "layer"], dropna=False).size()
    return [
        {"unit_code": None if pd.isna(code) else str(code), "layer": layer, "count": int(n)}
        for (code, layer), n in counts.items()
    ]
