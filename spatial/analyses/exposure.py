"""Population exposure: people and vulnerable facilities inside any zones."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from pydantic import BaseModel, Field

from layers.errors import InvalidParameter
from spatial.analyses.common import COUNTIES, check_meets_service_area
from spatial.bounds import vectors_cost
from spatial.context import Context
from spatial.errors import POLYGONAL, about
from spatial.exposure import people_per_unit, people_per_zone, population_grid
from spatial.impact import features_inside, polygonal_part
from spatial.inputs import LayerInput, read_layer
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult

POPULATION_GRID = LayerInput(collection="synthetic-population-grid")
FACILITIES = LayerInput(collection="synthetic-facilities")
MAX_ZONES = 1000


class ExposureInputs(BaseModel):
    zones: LayerInput = Field(
        description="Polygon zones: a published layer, or inline GeoJSON features such as "
        "another process's output as it comes (an affected-area zone, drive-time areas, "
        "typhoon wind areas, a flood extent)"
    )
    zone_field: str | None = Field(
        None, description="Field naming each zone (e.g. 'level', 'minutes'); default fid"
    )
    population: LayerInput = Field(
        POPULATION_GRID, description="Population grid: a layer of regular lon/lat cells"
    )
    population_field: str = Field("population", description="The cells' population field")
    facilities: LayerInput | None = Field(
        FACILITIES,
        description="Vulnerable facilities, counted by type (filter them, e.g. "
        "\"kind IN ('school','hospital')\"); null for none",
    )
    type_field: str = Field("kind", description="The facilities' type field")
    units: LayerInput = Field(COUNTIES, description="Admin units to report on")
    code_field: str = Field("adcode", description="The units' code field")


def _zones(frame: gpd.GeoDataFrame, zone_field: str | None) -> gpd.GeoDataFrame:
    field = zone_field or "fid"
    if field not in frame.columns:
        raise InvalidParameter(f"zone_field: the zones have no field '{field}'")
    if len(frame) > MAX_ZONES:
        raise InvalidParameter(f"zones: {len(frame):,} zones; give at most {MAX_ZONES:,}")
    geoms = frame.geometry.values._data
    if len(geoms):  # (they may reach beyond it: the wind area of a typhoon at sea)
        check_meets_service_area("zones", geoms)
    valid = [polygonal_part(g) for g in geoms]
    labels = frame[field].astype(str).to_numpy()
    return gpd.GeoDataFrame({"zone": labels}, geometry=valid, crs=frame.crs)


def _records(frame: gpd.GeoDataFrame) -> list[dict[str, object]]:
    return [
        {str(k): v for k, v in row.items()}
        for row in pd.DataFrame(frame.drop(columns="geometry")).to_dict(orient="records")
    ]


Counts = dict[tuple[str, ...], dict[str, int]]  # (zone[, unit]) -> type -> facilities


def _facility_counts(inside: gpd.GeoDataFrame, keys: list[str]) -> Counts:
    if inside.empty:
        return {}
    counts = inside.groupby([*keys, "type"], dropna=False).size()
    table: Counts = {}
    for key, n in counts.items():
        *group, kind = key
        table.setdefault(tuple(str(g) for g in group), {})[str(kind)] = int(n)
    return table


def _facilities(
    ctx: Context,
    inputs: ExposureInputs,
    zones: gpd.GeoDataFrame,
    hull: shapely.Geometry,
    units: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Facilities inside each zone (one row per facility and zone), with unit and type."""
    spec = inputs.facilities
    if spec is None:
        empty: dict[str, list[str]] = {"zone": [], "unit_code": [], "type": []}
        return gpd.GeoDataFrame(empty, geometry=[], crs=zones.crs)
    frame = read_layer(ctx, spec, within=hull)
    if inputs.type_field not in frame.columns:
        raise InvalidParameter(f"type_field: the facilities have no field '{inputs.type_field}'")
    tagged = features_inside(hull, {spec.label: frame}, units, inputs.code_field)
    tagged = tagged.drop(columns=["zone", "index_right"], errors="ignore")
    pairs = gpd.sjoin(tagged, zones[["zone", "geometry"]], predicate="intersects")
    inside = pairs.drop(columns="index_right").reset_index(drop=True)
    return inside.assign(type=inside.get(inputs.type_field))


def run_exposure(inputs: ExposureInputs, ctx: Context) -> AnalysisResult:
    zones = _zones(read_layer(ctx, inputs.zones, geometry=POLYGONAL), inputs.zone_field)
    # Reads are narrowed by the zones' hull: a union of many detailed zones would cost the
    # SQL more than the cells outside the zones do (their covered fraction is 0).
    hull = shapely.convex_hull(shapely.geometrycollections(zones.geometry.values._data))
    cells = read_layer(ctx, inputs.population, within=hull, geometry=POLYGONAL)
    if inputs.population_field not in cells.columns:
        raise InvalidParameter(
            f"population_field: the population layer has no field '{inputs.population_field}'"
        )
    with about(inputs.population.input_name):
        grid = population_grid(cells, inputs.population_field)
    ctx.progress(30, f"{len(cells)} population cells read")
    units = read_layer(ctx, inputs.units, within=hull, geometry=POLYGONAL)
    if inputs.code_field not in units.columns:
        raise InvalidParameter(f"code_field: the units layer has no field '{inputs.code_field}'")
    per_zone = people_per_zone(grid, zones)
    per_unit = people_per_unit(grid, zones, units, inputs.code_field)
    ctx.progress(70, "people counted")
    inside = _facilities(ctx, inputs, zones, hull, units)
    by_zone = _facility_counts(inside, ["zone"])
    by_unit = _facility_counts(inside, ["zone", "unit_code"])
    per_zone["facilities"] = [by_zone.get((z,), {}) for z in per_zone["zone"]]
    per_unit["facilities"] = [
        by_unit.get((z, u), {})
        for z, u in zip(per_unit["zone"], per_unit["unit_code"], strict=True)
    ]
    return AnalysisResult(
        features={"zones": per_zone, "units": per_unit, "facilities": inside},
        values={"summary": {"zones": _records(per_zone), "units": _records(per_unit)}},
    )


EXPOSURE = Analysis(
    id="population-exposure",
    title="Population and vulnerable facilities exposed in zones",
    description="People inside each zone and each zone's part of every admin unit — Σ cell "
    "population × the exact fraction of the cell covered — from a population grid layer, "
    "and the facilities inside, counted by type. Zones: any polygons, e.g. the output of "
    "affected-area, service-area, typhoon-wind-circles or flood-inundation.",
    domain="emergency",
    inputs=ExposureInputs,
    outputs={
        "zones": OutputSpec("features", "The zones with people, area_km2 and facilities"),
        "units": OutputSpec("features", "Each zone's part of each unit, with people"),
        "facilities": OutputSpec("features", "Facilities inside, with zone, unit and type"),
        "summary": OutputSpec("value", "People and facility counts per zone and per unit"),
    },
    run=run_exposure,
    keywords=("emergency", "exposure", "population", "vulnerable facilities"),
    estimate=lambda inputs, ctx: vectors_cost(
        ctx, inputs.zones, inputs.population, inputs.facilities, inputs.units
    ),
)

ANALYSES = (EXPOSURE,)
