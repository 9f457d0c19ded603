"""Planning: overlay statistics, terrain, suitability and roll-up."""

from __future__ import annotations

from pydantic import BaseModel, Field

from spatial.analyses.common import COUNTIES
from spatial.context import Context
from spatial.errors import LINEAR, POLYGONAL
from spatial.inputs import LayerInput, RasterInput, raster_source, read_layer
from spatial.overlay import overlay_areas
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.rollup import Aggregation, roll_up
from spatial.suitability import suitability, top_candidates
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


class SuitabilityInputs(BaseModel):
    dem: RasterInput = Field(description="Elevation raster in metres: a raster layer, e.g. gd-dem")
    roads: LayerInput = Field(description="A line layer: nearness to it scores higher")
    exclusions: LayerInput | None = Field(None, description="Polygons where no site may lie")
    cell_m: float | None = Field(
        None, gt=0, le=100_000, description="Metric cell size for geographic DEMs"
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
    min_area_km2: float = Field(0.0, ge=0, description="Smallest candidate area (km²)")


def run_suitability(inputs: SuitabilityInputs, ctx: Context) -> AnalysisResult:
    dem = to_metric_grid(read_raster(raster_source(ctx, inputs.dem)), inputs.cell_m)
    roads = read_layer(ctx, inputs.roads, geometry=LINEAR).geometry
    exclusions = read_layer(ctx, inputs.exclusions).geometry if inputs.exclusions else None
    ctx.progress(30, "criteria read")
    score = suitability(
        dem,
        roads,
        exclusions,
        slope_weight=inputs.slope_weight,
        road_weight=inputs.road_weight,
        max_slope_deg=inputs.max_slope_deg,
        max_road_distance_m=inputs.max_road_distance_m,
    )
    candidates = top_candidates(score, inputs.top_n, inputs.best_share, inputs.min_area_km2)
    return AnalysisResult(rasters={"suitability": score}, features={"candidates": candidates})


SUITABILITY = Analysis(
    id="suitability",
    title="Site suitability",
    description="Weighted overlay of gentle slope and nearness to roads, with exclusion zones "
    "set to 0, and the top-N connected candidate areas of the best cells.",
    domain="planning",
    inputs=SuitabilityInputs,
    outputs={
        "suitability": OutputSpec("raster", "Score 0..1"),
        "candidates": OutputSpec("features", "Best areas, with rank, mean_score, area_km2"),
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

ANALYSES = (OVERLAY, TERRAIN, SUITABILITY, ROLL_UP)
