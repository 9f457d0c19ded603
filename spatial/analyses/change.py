"""Change detection between two versions of a layer (issue 17, analysis 5)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from layers.errors import InvalidParameter
from spatial.change import ABSENT, added_in_zones, matrix, transitions
from spatial.context import Context
from spatial.errors import POLYGONAL, about
from spatial.inputs import LayerInput, read_layer
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.versions import VersionChoice, read_version


class TwoVersions(BaseModel):
    layer: str = Field(description="Collection (layer) id, e.g. 'synthetic-landuse'")
    before: VersionChoice = Field(
        title="Version A", description="The earlier version: {'version': N} or {'datetime': …}"
    )
    after: VersionChoice = Field(
        title="Version B", description="The later version: {'version': N} or {'datetime': …}"
    )


class TransitionInputs(TwoVersions):
    class_field: str = Field(description="Categorical field of the layer, e.g. 'landuse'")
    units: LayerInput | None = Field(
        None, description="Polygon units for one matrix each (e.g. gd-counties); none: one"
    )
    unit_field: str = Field("adcode", description="The units' id field")


def _class_totals(rows: dict[str, dict[str, dict[str, float]]], axis: int) -> dict[str, float]:
    totals: dict[str, float] = {}
    for table in rows.values():
        for was, row in table.items():
            for now, km2 in row.items():
                key = (was, now)[axis]
                if key != ABSENT:
                    totals[key] = totals.get(key, 0.0) + km2
    return totals


def run_transitions(inputs: TransitionInputs, ctx: Context) -> AnalysisResult:
    with about("before"):
        a = read_version(ctx, inputs.layer, inputs.before, inputs.class_field, POLYGONAL)
    with about("after"):
        b = read_version(ctx, inputs.layer, inputs.after, inputs.class_field, POLYGONAL)
    units = None if inputs.units is None else read_layer(ctx, inputs.units, geometry=POLYGONAL)
    if units is not None and inputs.unit_field not in units.columns:
        raise InvalidParameter(f"unit_field: the units have no field '{inputs.unit_field}'")
    ctx.progress(20, f"{len(a)} and {len(b)} features read")
    rows = transitions(a, b, units, inputs.unit_field, ctx.checkpoint)
    table = matrix(rows)
    return AnalysisResult(
        values={
            "transitions": rows.to_dict(orient="records"),
            "matrix": table,
            "totals": {
                "before": {"version": a.attrs["version"], **_class_totals(table, 0)},
                "after": {"version": b.attrs["version"], **_class_totals(table, 1)},
            },
        }
    )


TRANSITIONS = Analysis(
    id="transition-matrix",
    title="Land-use transition matrix (土地利用转移矩阵)",
    description="Ellipsoidal area (km²) that moved from each class of a categorical field in "
    f"version A of a layer to each class in version B, per unit optionally; '{ABSENT}' is land "
    "one version does not cover, so rows sum to A's class totals and columns to B's.",
    domain="planning",
    inputs=TransitionInputs,
    outputs={
        "transitions": OutputSpec("value", "Rows of unit, from_class, to_class, area_km2"),
        "matrix": OutputSpec("value", "unit → from_class → to_class → km²"),
        "totals": OutputSpec("value", "Each version's number and class totals (km²)"),
    },
    run=run_transitions,
    keywords=("change detection", "land use", "transition matrix", "versions"),
)


class ProtectedChangeInputs(TwoVersions):
    zones: LayerInput = Field(description="Protected zones: a polygon layer (e.g. a red line)")


def run_protected_change(inputs: ProtectedChangeInputs, ctx: Context) -> AnalysisResult:
    with about("before"):
        a = read_version(ctx, inputs.layer, inputs.before)
    with about("after"):
        b = read_version(ctx, inputs.layer, inputs.after)
    zones = read_layer(ctx, inputs.zones, geometry=POLYGONAL)
    added = added_in_zones(a, b, zones)
    summary = added.groupby("change")["area_km2"].agg(["count", "sum"]).reset_index()
    return AnalysisResult(
        features={"added": added},
        values={
            "summary": [
                {"change": c, "features": int(n), "area_km2": float(s)}
                for c, n, s in summary.itertuples(index=False)
            ]
        },
    )


PROTECTED_CHANGE = Analysis(
    id="change-in-protected-zones",
    title="New or grown features inside protected zones",
    description="The parts of version B's features that version A did not have (a feature "
    "meeting no A feature is 'new', else 'grown'), inside each protected zone, with their "
    "ellipsoidal area (km²).",
    domain="planning",
    inputs=ProtectedChangeInputs,
    outputs={
        "added": OutputSpec("features", "Added parts: fid, zone_fid, change, area_km2"),
        "summary": OutputSpec("value", "Count and km² of new and of grown features"),
    },
    run=run_protected_change,
    keywords=("change detection", "protected areas", "versions"),
)

ANALYSES = (TRANSITIONS, PROTECTED_CHANGE)
