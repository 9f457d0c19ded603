"""Kernel density and Getis-Ord Gi* hot spots (issue 17, analysis 6)."""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import BaseModel, Field

from layers.errors import InvalidParameter
from spatial.context import Context
from spatial.errors import PUNCTUAL, check_distance_m
from spatial.hotspots import gi_star, grid_counts, hot_cold, kernel_density
from spatial.inputs import LayerInput, read_layer
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.rollup import numeric_field


def _weights(frame: gpd.GeoDataFrame, field: str | None, name: str) -> np.ndarray:
    if field is None:
        return np.ones(len(frame))
    if field not in frame.columns:
        raise InvalidParameter(f"{name}: the layer has no field '{field}'")
    return numeric_field(frame, field, name).fillna(0.0).to_numpy(dtype=float)


class DensityInputs(BaseModel):
    points: LayerInput = Field(description="Point layer (e.g. incidents, facilities)")
    weight_field: str | None = Field(None, description="Numeric weight of each point (none: 1)")
    bandwidth_m: float = Field(5000.0, gt=0, description="Kernel radius in metres")
    cell_m: float = Field(1000.0, gt=0, le=100_000, description="Cell size in metres")


def run_density(inputs: DensityInputs, ctx: Context) -> AnalysisResult:
    check_distance_m("bandwidth_m", inputs.bandwidth_m)
    if inputs.bandwidth_m < inputs.cell_m / 2:  # (5e-324 m: h² underflows, every cell NaN)
        raise InvalidParameter(
            f"bandwidth_m: {inputs.bandwidth_m} m is under half a cell (cell_m {inputs.cell_m} "
            "m): a kernel between cell centres would be lost; give a larger bandwidth_m or a "
            "smaller cell_m"
        )
    frame = read_layer(ctx, inputs.points, geometry=PUNCTUAL).explode(ignore_index=True)
    weights = _weights(frame, inputs.weight_field, "weight_field")
    density = kernel_density(
        frame.geometry.to_numpy(), weights, inputs.bandwidth_m, inputs.cell_m, ctx.checkpoint
    )
    return AnalysisResult(rasters={"density": density})


DENSITY = Analysis(
    id="kernel-density",
    title="Kernel density",
    description="Density of points (weighted optionally) per km²: the quartic kernel of "
    "radius bandwidth_m on the equal-area grid; a raster that can be published as a layer.",
    domain="emergency",
    inputs=DensityInputs,
    outputs={"density": OutputSpec("raster", "Points (or weight) per km²")},
    run=run_density,
    keywords=("kernel density", "KDE", "heat map"),
)


class HotspotInputs(BaseModel):
    layer: LayerInput = Field(
        description="Features to test (points, or others by a point on their surface)"
    )
    value_field: str | None = Field(
        None, description="Numeric field tested per feature; none: count points per grid cell"
    )
    per: Literal["feature", "cell"] = Field(
        "feature", description="Gi* of each feature's value, or of points counted per cell"
    )
    distance_m: float = Field(10_000.0, gt=0, description="Distance band in metres")
    cell_m: float = Field(5000.0, gt=0, le=100_000, description="Cell size for per='cell'")


def run_hotspots(inputs: HotspotInputs, ctx: Context) -> AnalysisResult:
    check_distance_m("distance_m", inputs.distance_m)
    frame = read_layer(ctx, inputs.layer)
    if inputs.per == "feature" and inputs.value_field is None:
        raise InvalidParameter("value_field: per='feature' needs a numeric field to test")
    weights = _weights(frame, inputs.value_field, "value_field")
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    if inputs.per == "cell":
        cells, weights = grid_counts(points, weights, inputs.cell_m)
        out = gpd.GeoDataFrame({"value": weights}, geometry=cells, crs=frame.crs)
        points = shapely.centroid(cells)
    else:
        out = frame.copy()
    z, p = gi_star(shapely.get_coordinates(points), weights, inputs.distance_m)
    out["gi_z"], out["p_value"], out["hotspot"] = z, p, hot_cold(z, p)
    return AnalysisResult(features={"hotspots": out})


HOTSPOTS = Analysis(
    id="hotspots",
    title="Hot spots (Getis-Ord Gi*)",
    description="Gi* z-score of each feature's value (or of point counts per equal-area "
    "cell) with binary weights within a geodesic distance band, the feature included; the "
    "analytic z (normal p, no permutations), labelled hot/cold at 90, 95 and 99 %.",
    domain="emergency",
    inputs=HotspotInputs,
    outputs={"hotspots": OutputSpec("features", "Features or cells with gi_z, p_value, hotspot")},
    run=run_hotspots,
    keywords=("hot spots", "Getis-Ord", "Gi*", "clusters"),
)

ANALYSES = (DENSITY, HOTSPOTS)
