"""Slope classes and categorical zonal statistics (issue 17, analysis 6)."""

from __future__ import annotations

import numpy as np
import shapely
from pydantic import BaseModel, Field

from layers.errors import InvalidParameter
from spatial.analyses.common import COUNTIES
from spatial.context import Context
from spatial.errors import POLYGONAL, about
from spatial.geodesy import STORAGE_CRS, transform
from spatial.inputs import LayerInput, RasterInput, raster_source, read_layer
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult, Raster
from spatial.terrain import read_raster, slope_aspect, to_metric_grid
from spatial.zonal.categorical import categorical_table

# 第三次全国国土调查 slope grades: I ≤ 2°, II 2–6°, III 6–15°, IV 15–25°, V > 25°.
SLOPE_BREAKS_DEG = (2.0, 6.0, 15.0, 25.0)
SLOPE_LABELS = {1: "≤2°", 2: "2–6°", 3: "6–15°", 4: "15–25°", 5: ">25°"}


def slope_classes(slope: Raster) -> Raster:
    """Class 1..5 of each cell (an upper bound belongs to its class), NaN where no slope."""
    codes = np.digitize(slope.data, SLOPE_BREAKS_DEG, right=True) + 1.0
    codes[np.isnan(slope.data)] = np.nan
    return Raster(data=codes, transform=slope.transform, crs=slope.crs)


class UnitsInput(BaseModel):
    units: LayerInput = Field(COUNTIES, description="Polygon units to report the classes in")
    unit_field: str = Field("adcode", description="The units' id field")


def unit_geometries(
    ctx: Context, inputs: UnitsInput, raster: Raster
) -> tuple[list[str], np.ndarray]:
    """Each unit id and its (unioned, valid) polygon in the raster's CRS."""
    frame = read_layer(ctx, inputs.units, geometry=POLYGONAL)
    if inputs.unit_field not in frame.columns:
        raise InvalidParameter(f"unit_field: the units have no field '{inputs.unit_field}'")
    grouped = frame.dissolve(by=frame[inputs.unit_field].astype(str))
    geoms = shapely.make_valid(grouped.geometry.to_numpy())
    if not raster.crs.is_geographic:  # geographic grids: CGCS2000 ≈ WGS 84 (ADR 0002)
        geoms = transform(geoms, STORAGE_CRS, raster.crs)
    return [str(i) for i in grouped.index], geoms


class SlopeClassInputs(UnitsInput):
    dem: RasterInput = Field(description="Elevation raster in metres: a raster layer, e.g. gd-dem")
    cell_m: float | None = Field(
        None, gt=0, le=100_000, description="Metric cell size for geographic DEMs"
    )


def run_slope_classes(inputs: SlopeClassInputs, ctx: Context) -> AnalysisResult:
    dem = to_metric_grid(read_raster(raster_source(ctx, inputs.dem)), inputs.cell_m)
    classes = slope_classes(slope_aspect(dem)[0])
    with about("units"):
        ids, geoms = unit_geometries(ctx, inputs, classes)
    table = categorical_table(classes, geoms, ids)
    table["label"] = table["class"].map(SLOPE_LABELS)
    return AnalysisResult(
        rasters={"slope_class": classes}, values={"areas": table.to_dict(orient="records")}
    )


SLOPE_CLASSES = Analysis(
    id="slope-classes",
    title="Slope classes (坡度分级)",
    description="Slope of a DEM (Horn, metric grid) in the five grades of the Third National "
    "Land Survey (≤2°, 2–6°, 6–15°, 15–25°, >25°; class 1..5), and the km² of each grade "
    "per unit, cells weighted by the exact share of them in the unit.",
    domain="planning",
    inputs=SlopeClassInputs,
    outputs={
        "slope_class": OutputSpec("raster", "Grade 1..5 of each cell"),
        "areas": OutputSpec("value", "Rows of zone, class, area_km2, share, label"),
    },
    run=run_slope_classes,
    keywords=("DEM", "slope", "坡度分级", "land survey"),
)


class CategoricalInputs(UnitsInput):
    raster: RasterInput = Field(description="A raster of integer classes (its first band)")


MAX_CLASSES = 1000


def _check_classes(raster: Raster) -> None:
    values = raster.data[~np.isnan(raster.data)]
    if not np.array_equal(values, np.rint(values)):
        raise InvalidParameter("raster: its values are not integer classes (e.g. a DEM)")
    if len(np.unique(values)) > MAX_CLASSES:
        raise InvalidParameter(f"raster: more than {MAX_CLASSES} classes; give a class raster")


def run_categorical(inputs: CategoricalInputs, ctx: Context) -> AnalysisResult:
    raster = read_raster(raster_source(ctx, inputs.raster))
    _check_classes(raster)
    with about("units"):
        ids, geoms = unit_geometries(ctx, inputs, raster)
    table = categorical_table(raster, geoms, ids)
    return AnalysisResult(values={"areas": table.to_dict(orient="records")})


CATEGORICAL = Analysis(
    id="categorical-zonal",
    title="Categorical zonal statistics",
    description="km² of each class (integer cell value) of a raster in each unit, cells "
    "weighted by the exact share of them in the unit, with each class's share of the unit.",
    domain="planning",
    inputs=CategoricalInputs,
    outputs={"areas": OutputSpec("value", "Rows of zone, class, area_km2, share")},
    run=run_categorical,
    keywords=("zonal statistics", "categorical raster", "land cover"),
)

ANALYSES = (SLOPE_CLASSES, CATEGORICAL)
