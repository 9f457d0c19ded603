"""Planning: the 三区三线 red-line conflict check as a process (``spatial.redline`` computes)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import shapely
from pydantic import BaseModel, Field, model_validator

from layers.errors import InvalidParameter
from spatial.analyses.common import COUNTIES, check_in_service_area, geometry_from_geojson
from spatial.bounds import vectors_cost
from spatial.context import Context
from spatial.errors import POLYGONAL, check_geometry_types
from spatial.geodesy import STORAGE_CRS, geodesic_areas_m2
from spatial.inputs import LayerInput, read_layer
from spatial.overlay import require_field
from spatial.redline import (
    ECOLOGICAL_RED_LINE,
    PERMANENT_FARMLAND,
    URBAN_BOUNDARY,
    Rule,
    overlaps_of,
)
from spatial.redline_report import render_html, summarise
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult

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


def _zones(inputs: RedlineInputs, ctx: Context, reach: shapely.Geometry) -> gpd.GeoDataFrame:
    """The protected zones near the parcels, their class as text (zones without one are out)."""
    zones = read_layer(ctx, inputs.protected, within=reach, geometry=POLYGONAL)
    require_field(zones, inputs.class_field, "class_field", "the protected layer")
    zones = zones[zones[inputs.class_field].notna()]
    return zones.assign(**{inputs.class_field: zones[inputs.class_field].astype(str)})


def _units(inputs: RedlineInputs, ctx: Context, reach: shapely.Geometry) -> gpd.GeoDataFrame:
    units = read_layer(ctx, inputs.units, within=reach, geometry=POLYGONAL)
    require_field(units, inputs.unit_field, "unit_field", "the units layer")
    require_field(units, inputs.unit_name_field, "unit_name_field", "the units layer")
    return units


def run_redline(inputs: RedlineInputs, ctx: Context) -> AnalysisResult:
    parcels = _subjects(inputs, ctx)
    reach = shapely.box(*parcels.total_bounds)
    zones, units = _zones(inputs, ctx, reach), _units(inputs, ctx, reach)
    ctx.progress(30, "inputs read")
    geoms = parcels.geometry.values._data
    parcel_m2 = geodesic_areas_m2(geoms)
    # The heavy part, in the run's memory-bounded child when the service isolates runs.
    overlaps = ctx.compute(
        overlaps_of, geoms, parcel_m2, zones, inputs.class_field, units, inputs.unit_field
    )
    rule = inputs.rule()
    found = sorted(set(zones[inputs.class_field]))
    named = [*rule.prohibited, *filter(None, [rule.permitted])]
    names = dict(zip(units[inputs.unit_field], units[inputs.unit_name_field], strict=True))
    ids = parcels["id"].tolist()
    report = summarise(overlaps, ids, parcel_m2, list(dict.fromkeys([*named, *found])), names, rule)
    # A rule class no zone near the parcels has: a typo, or really none here — said, not guessed.
    report["classes_absent"] = [c for c in named if c not in found]
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
    estimate=lambda inputs, ctx: vectors_cost(ctx, inputs.parcels, inputs.protected, inputs.units),
)
