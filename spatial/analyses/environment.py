"""Environmental monitoring: zonal statistics, interpolation with exceedance, buffer zones."""

from __future__ import annotations

from typing import Literal

import numpy as np
import shapely
from pydantic import BaseModel, Field

from spatial.analyses.common import COUNTIES, area_of
from spatial.bounds import Cost, raster_cost, vector_cost, vectors_cost
from spatial.context import Context
from spatial.errors import POLYGONAL, PUNCTUAL, about
from spatial.geodesy import to_equal_area
from spatial.inputs import (
    LayerInput,
    RasterInput,
    features_frame,
    raster_source,
    read_layer,
    vector_layer,
)
from spatial.interpolation import exceedance_polygons, grid_shape, interpolate, interpolation_bytes
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


def estimate_zonal(inputs: ZonalInputs, ctx: Context) -> Cost:
    # the band as floats, its mask and the coverage fractions of a zone's window
    return raster_cost(ctx, inputs.raster, arrays=3) + vector_cost(ctx, inputs.zones)


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
    estimate=estimate_zonal,
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
    surface = ctx.compute(  # the grid × neighbours part: bounded, off the server
        interpolate,
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


def estimate_interpolation(inputs: InterpolationInputs, ctx: Context) -> Cost:
    """The grid over the admin unit or the readings' extent, × neighbours (IDW) or with the
    spline's readings² system; counted from the catalog's extent and feature count."""
    spec = inputs.readings
    with about(spec.input_name):  # its errors name the input, as the run's would
        if spec.features is not None:
            frame = features_frame(spec.features)
            count, extent = len(frame), tuple(frame.total_bounds)
        else:
            layer = vector_layer(ctx, spec)
            count, extent = layer.feature_count, layer.extent or (0.0, 0.0, 0.0, 0.0)
    area = area_of(ctx, inputs.adcode)
    box = shapely.segmentize(shapely.box(*(area.bounds if area is not None else extent)), 0.1)
    width, height = grid_shape(to_equal_area(np.array([box]))[0].bounds, inputs.cell_m)
    cells = width * height
    need = interpolation_bytes(inputs.method, cells, count, inputs.neighbours)
    if inputs.method == "idw":
        k = min(inputs.neighbours, count)
        hint = "give a larger cell_m, fewer neighbours or an adcode"
        return Cost(need, "cell_m", f"{cells:,} cells × {k} neighbours", hint)
    grid_bytes = interpolation_bytes("idw", cells, count, 0)
    if grid_bytes * 2 >= need:
        return Cost(need, "cell_m", f"{cells:,} cells", "give a larger cell_m or an adcode")
    hint = "use fewer readings (a filter or an adcode) or method 'idw'"
    return Cost(need, "readings", f"a spline through {count:,} readings", hint)


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
    estimate=estimate_interpolation,
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
    estimate=lambda inputs, ctx: vectors_cost(ctx, inputs.sites, inputs.check),
)

ANALYSES = (ZONAL, INTERPOLATION, BUFFER)
