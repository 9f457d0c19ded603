"""Planning: overlay statistics, red-line conflicts, terrain, suitability and roll-up."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import shapely
from pydantic import BaseModel, Field, model_validator

from layers.errors import InvalidParameter
from spatial.analyses.common import COUNTIES, check_in_service_area, geometry_from_geojson
from spatial.candidates import top_candidates
from spatial.context import Context
from spatial.errors import LINEAR, POLYGONAL, about, check_geometry_types
from spatial.geodesy import STORAGE_CRS, geodesic_areas_m2
from spatial.inputs import LayerInput, RasterInput, admin_unit, raster_source, read_layer
from spatial.overlay import overlay_areas, require_field
from spatial.redline import (
    ECOLOGICAL_RED_LINE,
    PERMANENT_FARMLAND,
    URBAN_BOUNDARY,
    Rule,
    overlaps_of,
)
from spatial.redline_report import render_html, summarise
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult, Raster
from spatial.rollup import Aggregation, roll_up
from spatial.suitability import site_mask, suitability
from spatial.terrain import read_raster, slope_aspect, to_metric_grid


class OverlayInputs(BaseModel):
    layer: LayerInput = Field(description="Polygon layer with classes (e.g. land use)")
    class_field: str = Field(description="Field of the layer holding its class")
    units: LayerInput = Field(COUNTIES, description="Polygon units to report each class in")
    unit_field: str = Field("adcode", description="The units' id field")


def run_overlay(inputs: OverlayInputs, ctx: Context) -> AnalysisResult:
    table = overlay_areas(
        read_layer(ctx, inputs.layer, geometry=POLYGONAL),
        inputs.class_field,
        read_layer(ctx, inputs.units, geometry=POLYGONAL),
        inputs.unit_field,
    )
    return AnalysisResult(values={"statistics": table.to_dict(orient="records")})


OVERLAY = Analysis(
    id="overlay-statistics",
    title="Overlay statistics",
    description="Area (km², equal-area CRS) of each class of a polygon layer within each unit "
    "of another, with the share of the unit.",
    domain="planning",
    inputs=OverlayInputs,
    outputs={"statistics": OutputSpec("value", "Rows of unit, class, area_km2, share")},
    run=run_overlay,
    keywords=("overlay", "land use", "area"),
)


PROTECTED_ZONES = LayerInput(collection="synthetic-protected-zones")


class RedlineInputs(BaseModel):
    footprint: dict[str, Any] | None = Field(
        None,
        description="GeoJSON (Multi)Polygon of a project footprint (lon/lat); or give parcels",
        examples=[{"type": "Polygon", "coordinates": [[[113.2, 23.1], [113.21, 23.1],
                                                        [113.21, 23.11], [113.2, 23.1]]]}],
    )  # fmt: skip
    parcels: LayerInput | None = Field(None, description="Parcel layer (polygons) to check")
    parcel_id_field: str = Field("fid", description="The parcels' id field")
    protected: LayerInput = Field(
        PROTECTED_ZONES, description="Protected zones (三区三线), the class in class_field"
    )
    class_field: str = Field("zone_class", description="The protected zones' class field")
    units: LayerInput = Field(COUNTIES, description="Counties to report by")
    unit_field: str = Field("adcode", description="The counties' code field")
    unit_name_field: str = Field("name", description="The counties' name field")
    prohibited_classes: list[str] = Field(
        [ECOLOGICAL_RED_LINE, PERMANENT_FARMLAND], description="Classes a parcel may not occupy"
    )
    permitted_class: str | None = Field(
        URBAN_BOUNDARY, description="The class a compliant parcel lies wholly inside"
    )
    tolerance_m2: float = Field(1.0, ge=0, le=10_000, description="Overlaps up to this are none")

    @model_validator(mode="after")
    def _one_subject(self) -> RedlineInputs:
        if (self.footprint is None) == (self.parcels is None):
            raise ValueError("give exactly one of 'footprint' or 'parcels'")
        return self

    def rule(self) -> Rule:
        return Rule(tuple(self.prohibited_classes), self.permitted_class, self.tolerance_m2)


def _subjects(inputs: RedlineInputs, ctx: Context) -> gpd.GeoDataFrame:
    """The parcels to check, with an ``id`` column; a footprint is one parcel."""
    if inputs.footprint is not None:
        geom = geometry_from_geojson(inputs.footprint, "footprint")
        check_geometry_types("footprint", [geom.geom_type], POLYGONAL)
        return gpd.GeoDataFrame({"id": ["footprint"]}, geometry=[geom], crs=STORAGE_CRS)
    assert inputs.parcels is not None
    frame = read_layer(ctx, inputs.parcels, geometry=POLYGONAL)
    if frame.empty:
        raise InvalidParameter("parcels: the layer has no features (inside the area asked)")
    require_field(frame, inputs.parcel_id_field, "parcel_id_field", "the parcel layer")
    check_in_service_area(tuple(frame.total_bounds), "parcels")
    frame = frame.assign(id=frame[inputs.parcel_id_field])
    return frame.set_geometry(shapely.make_valid(frame.geometry.values._data))


def run_redline(inputs: RedlineInputs, ctx: Context) -> AnalysisResult:
    parcels = _subjects(inputs, ctx)
    reach = shapely.box(*parcels.total_bounds)
    zones = read_layer(ctx, inputs.protected, within=reach, geometry=POLYGONAL)
    require_field(zones, inputs.class_field, "class_field", "the protected layer")
    units = read_layer(ctx, inputs.units, within=reach, geometry=POLYGONAL)
    for name, param in (
        (inputs.unit_field, "unit_field"),
        (inputs.unit_name_field, "unit_name_field"),
    ):
        require_field(units, name, param, "the units layer")
    ctx.progress(30, "inputs read")
    geoms = parcels.geometry.values._data
    parcel_m2 = geodesic_areas_m2(geoms)
    overlaps = overlaps_of(
        geoms, parcel_m2, zones, inputs.class_field, units, inputs.unit_field, ctx.checkpoint
    )
    rule = inputs.rule()
    found = sorted({str(c) for c in zones[inputs.class_field].dropna()})
    classes = list(dict.fromkeys([*rule.prohibited, *filter(None, [rule.permitted]), *found]))
    names = dict(zip(units[inputs.unit_field], units[inputs.unit_name_field], strict=True))
    ids = parcels["id"].tolist()
    report = summarise(overlaps, ids, parcel_m2, classes, names, rule)
    sources = {
        "protected": inputs.protected.label,
        "parcels": inputs.parcels.label if inputs.parcels else "footprint",
        "units": inputs.units.label,
    }
    parts = overlaps.parts.assign(parcel=[ids[i] for i in overlaps.parts["parcel"]])
    return AnalysisResult(
        features={"overlaps": parts.rename(columns={"class": inputs.class_field})},
        values={"report": {**report, "sources": sources}},
        pages={"report_html": render_html(report, sources)},
    )


REDLINE = Analysis(
    id="redline-check",
    title="三区三线 red-line conflict check",
    description="Overlap of a project footprint or a parcel layer with the protected zones "
    "(生态保护红线, 永久基本农田, 城镇开发边界): ellipsoidal m² per class, per county and per "
    "parcel, a verdict per parcel (符合 / 不符合 / 需审查) and a printable HTML report.",
    domain="planning",
    inputs=RedlineInputs,
    outputs={
        "overlaps": OutputSpec("features", "Each parcel's part in each class, with area_m2"),
        "report": OutputSpec("value", "Verdict, rule and tables by class, county and parcel"),
        "report_html": OutputSpec("html", "The compliance report as a printable HTML page"),
    },
    run=run_redline,
    keywords=("三区三线", "red line", "compliance", "farmland"),
)


class TerrainInputs(BaseModel):
    dem: RasterInput = Field(description="Elevation raster in metres: a raster layer, e.g. gd-dem")
    cell_m: float | None = Field(
        None, gt=0, le=100_000, description="Metric cell size for geographic DEMs"
    )


def run_terrain(inputs: TerrainInputs, ctx: Context) -> AnalysisResult:
    dem = to_metric_grid(read_raster(raster_source(ctx, inputs.dem)), inputs.cell_m)
    slope, aspect = slope_aspect(dem)
    return AnalysisResult(rasters={"slope": slope, "aspect": aspect})


TERRAIN = Analysis(
    id="terrain",
    title="Slope and aspect",
    description="Slope (degrees) and aspect (degrees clockwise from north, downslope) of a "
    "DEM by Horn's method, on a metric grid.",
    domain="planning",
    inputs=TerrainInputs,
    outputs={
        "slope": OutputSpec("raster", "Slope in degrees"),
        "aspect": OutputSpec("raster", "Aspect in degrees"),
    },
    run=run_terrain,
    keywords=("DEM", "slope", "aspect"),
)


PROVINCE = LayerInput(collection="gd-province")


class SuitabilityInputs(BaseModel):
    dem: RasterInput = Field(description="Elevation raster in metres: a raster layer, e.g. gd-dem")
    roads: LayerInput = Field(description="A line layer: nearness to it scores higher")
    exclusions: LayerInput | None = Field(
        None,
        description="Polygons where no site may be (e.g. protected areas); cells count by the "
        "exact share they cover",
    )
    study_area: LayerInput = Field(
        PROVINCE,
        title="Study area",
        description="Polygons of the land a site must lie on (the province, or counties with "
        "an adcode); cells at least half outside are not rated, candidates are clipped to it",
    )
    cell_m: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Metric cell size for geographic DEMs; by default the DEM's own, refined "
        "to half the side of a max_area_km2 square when coarser",
    )
    slope_weight: float = Field(0.5, ge=0, description="Weight of the gentle-slope score")
    road_weight: float = Field(0.5, ge=0, description="Weight of the near-road score")
    max_slope_deg: float = Field(25.0, gt=0, description="Slope (degrees) that scores 0")
    max_road_distance_m: float = Field(
        10_000.0, gt=0, description="Distance to a road (metres) that scores 0"
    )
    top_n: int = Field(5, ge=1, le=100, description="How many candidate areas")
    best_share: float = Field(
        0.1, gt=0, le=1, description="Share of the best cells candidates are made of"
    )
    min_area_km2: float = Field(
        1.0,
        ge=0,
        title="Smallest candidate (km²)",
        description="Candidates smaller than this (after clipping to the study area) are left out",
    )
    max_area_km2: float = Field(
        100.0,
        gt=0,
        le=10_000,
        title="Largest candidate (km²)",
        description="Larger connected areas of best cells are split into square blocks of at "
        "most this size, each part a candidate",
    )

    @model_validator(mode="after")
    def _bounds_ordered(self) -> SuitabilityInputs:
        if self.min_area_km2 > self.max_area_km2:
            raise ValueError("min_area_km2 must not exceed max_area_km2")
        return self


def _metric_dem(ctx: Context, inputs: SuitabilityInputs) -> Raster:
    """The DEM on a metric grid fine enough for a max_area_km2 candidate to span 2 × 2 cells."""
    raster = read_raster(raster_source(ctx, inputs.dem))
    dem = to_metric_grid(raster, inputs.cell_m)
    side_m = math.sqrt(inputs.max_area_km2) * 1000 / 2
    if inputs.cell_m is None and raster.crs.is_geographic and abs(dem.transform.a) > side_m:
        dem = to_metric_grid(raster, side_m)
    return dem


def _study_area(ctx: Context, spec: LayerInput) -> shapely.Geometry:
    area = shapely.union_all(read_layer(ctx, spec, geometry=POLYGONAL).geometry.values._data)
    if spec.adcode is not None:
        with about(spec.input_name):
            area = shapely.intersection(area, admin_unit(ctx, spec.adcode))
    return area


def run_suitability(inputs: SuitabilityInputs, ctx: Context) -> AnalysisResult:
    dem = _metric_dem(ctx, inputs)
    roads = read_layer(ctx, inputs.roads, geometry=LINEAR).geometry
    exclusions = (
        read_layer(ctx, inputs.exclusions, geometry=POLYGONAL).geometry
        if inputs.exclusions
        else None
    )
    with about(inputs.study_area.input_name):
        mask = site_mask(dem, _study_area(ctx, inputs.study_area), exclusions)
    ctx.progress(30, "criteria read")
    score = suitability(
        dem,
        roads,
        mask,
        slope_weight=inputs.slope_weight,
        road_weight=inputs.road_weight,
        max_slope_deg=inputs.max_slope_deg,
        max_road_distance_m=inputs.max_road_distance_m,
    )
    bounds = (inputs.min_area_km2, inputs.max_area_km2)
    candidates = top_candidates(score, mask, inputs.top_n, inputs.best_share, bounds)
    return AnalysisResult(
        rasters={"suitability": score},
        features={"candidates": candidates},
        values={"excluded_km2": mask.excluded_km2},
    )


SUITABILITY = Analysis(
    id="suitability",
    title="Site suitability",
    description="Weighted overlay of gentle slope and nearness to roads over the study area "
    "(cells at least half on it), cells at least half in exclusion zones set to 0 (exact "
    "covered shares), and the top-N connected candidate areas of the best cells: on the "
    "study area, outside exclusions, each between min_area_km2 and max_area_km2.",
    domain="planning",
    inputs=SuitabilityInputs,
    outputs={
        "suitability": OutputSpec("raster", "Score 0..1 (NaN off the study area)"),
        "candidates": OutputSpec("features", "Best areas, with rank, mean_score, area_km2"),
        "excluded_km2": OutputSpec(
            "value", "km² of the exclusion zones inside the study area and the DEM grid"
        ),
    },
    run=run_suitability,
    keywords=("suitability", "site selection", "weighted overlay"),
)


class RollUpInputs(BaseModel):
    layer: LayerInput = Field(COUNTIES, description="County-level layer")
    value_field: str = Field(description="Numeric field to aggregate")
    how: Aggregation = Field("sum", description="How the values are combined")
    weight_field: str | None = Field(None, description="Weights of a weighted mean")
    code_field: str = Field("adcode", description="The layer's 6-digit admin code field")


def run_roll_up(inputs: RollUpInputs, ctx: Context) -> AnalysisResult:
    frame = read_layer(ctx, inputs.layer)
    table = roll_up(frame, inputs.value_field, inputs.how, inputs.code_field, inputs.weight_field)
    return AnalysisResult(values={"table": table.to_dict(orient="records")})


ROLL_UP = Analysis(
    id="roll-up",
    title="Roll-up county → city → province",
    description="Aggregate a county-level attribute to city and province level by admin code "
    "(sum, mean, min, max or weighted mean).",
    domain="planning",
    inputs=RollUpInputs,
    outputs={"table": OutputSpec("value", "Rows of adcode, level, value, n")},
    run=run_roll_up,
    keywords=("aggregation", "admin levels"),
)

ANALYSES = (OVERLAY, REDLINE, TERRAIN, SUITABILITY, ROLL_UP)
