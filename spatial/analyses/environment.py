"""Environmental monitoring: zonal statistics, interpolation with exceedance, buffer zones."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from spatial.analyses.common import COUNTIES, area_of
from spatial.context import Context
from spatial.errors import POLYGONAL, PUNCTUAL
from spatial.inputs import LayerInput, RasterInput, raster_source, read_layer
from spatial.interpolation import exceedance_polygons, interpolate
from spatial.proximity import buffer_zones
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.zonal import zonal_statistics


class ZonalInputs(BaseModel):
    raster: RasterInput = Field(description="Raster to summarise: a raster layer, e.g. gd-dem")
    zones: LayerInput = Field(COUNTIES, description="Polygon layer")
    percentiles: list[float] = Field([10, 50, 90], description="Percentiles (0..100)")
    band: int = Field(1, ge=1, description="Band of the raster (1 = the first)")


def run_zonal(inputs: ZonalInputs, ctx: Context) -> AnalysisResult:
    raster = raster_source(ctx, inputs.raster)
    zones = read_layer(ctx, inputs.zones, geometry=POLYGONAL)
    ctx.progress(10, f"{len(zones)} zones read")
    return AnalysisResult(
        features={"statistics": zonal_statistics(raster, zones, inputs.percentiles, inputs.band)}
    )


ZONAL = Analysis(
    id="zonal-statistics",
    title="Zonal statistics",
    description="min, max, mean, std, sum, percentiles and valid-cell count of a raster per "
    "polygon, each cell weighted by the exact fraction of it the polygon covers.",
    domain="environment",
    inputs=ZonalInputs,
    outputs={"statistics": OutputSpec("features", "The zones with one column per statistic")},
    run=run_zonal,
    keywords=("zonal statistics", "raster", "DEM"),
)


class InterpolationInputs(BaseModel):
    readings: LayerInput = Field(description="Point layer of readings")
    value_field: str = Field(description="Numeric field of the readings to interpolate")
    method: Literal["idw", "thin_plate_spline"] = Field(
        "idw", description="Inverse distance weighting, or a thin-plate spline"
    )
    cell_m: float = Field(
        1000.0, gt=0, le=100_000, description="Cell size in metres (equal-area grid)"
    )
    adcode: str | None = Field(
        None, pattern=r"^[0-9]{6}$", description="Clip the surface to this admin unit"
    )
    threshold: float | None = Field(None, description="Exceedance threshold")
    power: float = Field(2.0, gt=0, le=10, description="IDW distance exponent")
    neighbours: int = Field(12, ge=1, le=256, description="Nearest readings used per cell")
    smoothing: float = Field(0.0, ge=0, description="Thin-plate spline smoothing (0: exact)")


def run_interpolation(inputs: InterpolationInputs, ctx: Context) -> AnalysisResult:
    readings = read_layer(ctx, inputs.readings, geometry=PUNCTUAL)
    surface = interpolate(
        readings,
        inputs.value_field,
        method=inputs.method,
        cell_m=inputs.cell_m,
        area=area_of(ctx, inputs.adcode),
        power=inputs.power,
        neighbours=inputs.neighbours,
        smoothing=inputs.smoothing,
    )
    ctx.progress(80, "surface interpolated")
    result = AnalysisResult(rasters={"surface": surface})
    if inputs.threshold is not None:
        result.features["exceedance"] = exceedance_polygons(surface, inputs.threshold)
    return result


INTERPOLATION = Analysis(
    id="interpolation",
    title="Interpolation of point readings",
    description="A raster of point readings by inverse distance weighting or a thin-plate "
    "spline, on an equal-area grid, with the polygons where it reaches a threshold.",
    domain="environment",
    inputs=InterpolationInputs,
    outputs={
        "surface": OutputSpec("raster", "Interpolated surface (GeoTIFF)"),
        "exceedance": OutputSpec("features", "Where the surface reaches the threshold"),
    },
    run=run_interpolation,
    keywords=("IDW", "spline", "monitoring", "exceedance"),
)


class BufferInputs(BaseModel):
    sites: LayerInput = Field(description="Sensitive sites (water sources, protected areas)")
    distance_m: float = Field(description="Protection distance in metres")
    check: LayerInput | None = Field(None, description="Layer whose features must stay outside")


def run_buffer(inputs: BufferInputs, ctx: Context) -> AnalysisResult:
    sites = read_layer(ctx, inputs.sites)
    others = read_layer(ctx, inputs.check) if inputs.check is not None else None
    ctx.progress(10, f"{len(sites)} sites read")
    zones, violations = buffer_zones(sites, inputs.distance_m, others, ctx.checkpoint)
    return AnalysisResult(
        features={"zones": zones, "violations": violations},
        values={"violation_count": len(violations)},
    )


BUFFER = Analysis(
    id="buffer-zones",
    title="Buffer zones and violations",
    description="Protection zones at a geodesic distance around sensitive sites, and the "
    "features of another layer inside them, with their distance to the site.",
    domain="environment",
    inputs=BufferInputs,
    outputs={
        "zones": OutputSpec("features", "One zone per site"),
        "violations": OutputSpec("features", "Features inside a zone, with site_fid"),
        "violation_count": OutputSpec("value", "Number of violations"),
    },
    run=run_buffer,
    keywords=("buffer", "water source", "protected area"),
)

ANALYSES = (ZONAL, INTERPOLATION, BUFFER)
