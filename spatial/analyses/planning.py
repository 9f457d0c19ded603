"""Planning: overlay statistics, terrain, suitability and roll-up (red-line check: redline.py)."""

from __future__ import annotations

import math

import shapely
from pydantic import BaseModel, Field, model_validator

from spatial.analyses.common import COUNTIES
from spatial.analyses.redline import REDLINE  # the 三区三线 check, a module of its own
from spatial.bounds import Cost, raster_cost, vector_cost, vectors_cost
from spatial.candidates import top_candidates
from spatial.context import Context
from spatial.errors import LINEAR, POLYGONAL, about
from spatial.inputs import LayerInput, RasterInput, admin_unit, raster_source, read_layer
from spatial.overlay import overlay_areas
from spatial.raster_source import RasterSource
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
    estimate=lambda inputs, ctx: vectors_cost(ctx, inputs.layer, inputs.units),
)


class TerrainInputs(BaseModel):
    dem: RasterInput = Field(description="Elevation raster in metres: a raster layer, e.g. gd-dem")
    cell_m: float | None = Field(
        None, gt=0, le=100_000, description="Metric cell size for geographic DEMs"
    )


def slope_aspect_of(source: RasterSource, cell_m: float | None) -> tuple[Raster, Raster]:
    """The heavy part of ``terrain``, read and computed in one (child) process."""
    return slope_aspect(to_metric_grid(read_raster(source), cell_m))


def run_terrain(inputs: TerrainInputs, ctx: Context) -> AnalysisResult:
    slope, aspect = ctx.compute(slope_aspect_of, raster_source(ctx, inputs.dem), inputs.cell_m)
    return AnalysisResult(rasters={"slope": slope, "aspect": aspect})


# Float grids held at once: the DEM as read and resampled, its padded copy, two gradients,
# their hypotenuse, slope and aspect (terrain); suitability adds its distance, scores, mask.
TERRAIN_ARRAYS = 9
SUITABILITY_ARRAYS = 16


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
    estimate=lambda inputs, ctx: raster_cost(ctx, inputs.dem, TERRAIN_ARRAYS, inputs.cell_m),
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


def estimate_suitability(inputs: SuitabilityInputs, ctx: Context) -> Cost:
    """The DEM's grids at the cell ``_metric_dem`` will choose (the finer of its own and
    half a max_area_km2 square's side, unless cell_m is given) and the vector inputs."""
    cell_m = inputs.cell_m or math.sqrt(inputs.max_area_km2) * 1000 / 2
    grids = raster_cost(ctx, inputs.dem, SUITABILITY_ARRAYS, cell_m)
    if inputs.cell_m is None:  # the DEM's own cell, when finer than that
        grids = max(grids, raster_cost(ctx, inputs.dem, SUITABILITY_ARRAYS), key=lambda c: c.bytes)
    return grids + vectors_cost(ctx, inputs.roads, inputs.exclusions, inputs.study_area)


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
    score = ctx.compute(  # slope, distances and scores: bounded, off the server
        suitability,
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
    estimate=lambda inputs, ctx: estimate_suitability(inputs, ctx),
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
    estimate=lambda inputs, ctx: vector_cost(ctx, inputs.layer),
)

ANALYSES = (OVERLAY, REDLINE, TERRAIN, SUITABILITY, ROLL_UP)
