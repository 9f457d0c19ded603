"""Transformations from a source CRS to the storage CRS, EPSG:4490 (CGCS2000).

PROJ knows no real transformation from Xi'an 1980 or Beijing 1954 to CGCS2000, only a
"ballpark" null shift that leaves data tens of metres off. Surveying bureaus publish local
parameter sets instead; operators list them in a JSON/TOML file (``ONEMAP_DATUM_SHIFTS``)
and the plan uses the most specific set whose area covers the data.
"""

from __future__ import annotations

import json
import math
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import shapely
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from ingest.crs import Bounds, classify_datum, gauss_kruger_epsg, gauss_kruger_zone, lonlat_bounds
from layers.errors import IngestError
from layers.platform import STORAGE_SRID

Policy = Literal["warn", "refuse"]
Coords = NDArray[np.float64]
CoordinateTransform = Callable[[Coords, Coords], tuple[Coords, Coords]]

_DATUM_LABELS = {"xian1980": "Xi'an 1980", "beijing1954": "Beijing 1954"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShiftArea(_Frozen):
    """Where a parameter set is valid: a lon/lat box, an adcode prefix, or both."""

    name: str
    bbox: tuple[float, float, float, float] | None = None
    adcode_prefix: Annotated[str, Field(pattern=r"^\d{2,6}$")] | None = None

    @model_validator(mode="after")
    def _needs_extent(self) -> ShiftArea:
        if self.bbox is None and self.adcode_prefix is None:
            raise ValueError(f"area {self.name!r} needs a bbox or an adcode_prefix")
        return self


class Helmert7(_Frozen):
    """Seven-parameter Helmert between geocentric frames, as PROJ's ``+proj=helmert``."""

    kind: Literal["helmert7"]
    tx: float  # metres
    ty: float
    tz: float
    rx: float  # arc-seconds
    ry: float
    rz: float
    ds: float  # scale difference, ppm
    convention: Literal["position_vector", "coordinate_frame"]


class PlaneSimilarity4(_Frozen):
    """Four-parameter similarity in a Gauss-Krüger plane of the old datum.

    E' = dx + k(E cosθ − N sinθ), N' = dy + k(E sinθ + N cosθ) with E/N in ``projected_epsg``,
    θ = ``rotation``, k = 1 + ``scale``·1e-6; (E', N') are read in the CGCS2000 zone of the
    same meridian. Surveying documents call northing X: ``axis_order = "north_east"`` takes
    the parameters as published there (the same formula with X for E and Y for N).
    """

    kind: Literal["plane4"]
    projected_epsg: int
    dx: float  # metres
    dy: float
    rotation: float  # arc-seconds
    scale: float  # ppm
    axis_order: Literal["east_north", "north_east"] = "east_north"

    def apply(self, east: Coords, north: Coords) -> tuple[Coords, Coords]:
        shift_e, shift_n, theta = self.dx, self.dy, math.radians(self.rotation / 3600)
        if self.axis_order == "north_east":
            # Swapping the axes mirrors the plane, so the rotation changes sign.
            shift_e, shift_n, theta = self.dy, self.dx, -theta
        k = 1 + self.scale * 1e-6
        cos_t, sin_t = math.cos(theta), math.sin(theta)
        return (
            shift_e + k * (east * cos_t - north * sin_t),
            shift_n + k * (east * sin_t + north * cos_t),
        )


class DatumShift(_Frozen):
    name: str
    source_datum: Literal["xian1980", "beijing1954"]
    area: ShiftArea
    parameters: Annotated[Helmert7 | PlaneSimilarity4, Field(discriminator="kind")]

    @model_validator(mode="after")
    def _plane_fits_datum(self) -> DatumShift:
        if isinstance(self.parameters, PlaneSimilarity4):  # fail when loading, not mid-ingest
            _fitted_zone(self.parameters.projected_epsg, self.source_datum)
        return self


class _ShiftFile(_Frozen):
    shifts: list[DatumShift]


@dataclass(frozen=True)
class TransformPlan:
    """How coordinates go to EPSG:4490: ``transform(x, y) -> (lon, lat)``, x = easting/lon."""

    transform: CoordinateTransform
    description: str  # for lineage: the PROJ pipeline or the operator's parameter set
    ballpark: bool  # True when the result may be tens of metres off
    warnings: list[str] = field(default_factory=list)
    identity: bool = False  # coordinates pass unchanged (e.g. CGCS2000 or a null shift)


def load_datum_shifts(path: Path) -> tuple[DatumShift, ...]:
    """Read the operator's parameter sets from a ``.json`` or ``.toml`` file."""
    try:
        text = path.read_text("utf-8")
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        shifts = _ShiftFile.model_validate(raw).shifts
    except (OSError, ValueError) as exc:  # ValidationError and decode errors are ValueErrors
        detail = _first_problems(exc) if isinstance(exc, ValidationError) else str(exc)
        raise IngestError(
            f"{path}: not a valid datum shift file ({detail}); it must hold a "
            "'shifts' list of {name, source_datum, area, parameters}"
        ) from exc
    names = [shift.name for shift in shifts]
    if len(set(names)) != len(names):
        raise IngestError(f"{path}: datum shift names must be unique, got {names}")
    return tuple(shifts)


def plan_transformation(
    source_crs: CRS,
    shifts: Sequence[DatumShift],
    area_bounds: Bounds,
    policy: Policy,
    *,
    adcode: str | None = None,
    source_name: str = "the source",
) -> TransformPlan:
    """Choose the transformation to EPSG:4490 for data covering ``area_bounds`` (source CRS)."""
    datum = classify_datum(source_crs)
    notes: list[str] = []
    if datum in ("xian1980", "beijing1954"):
        chosen, notes = _select_shift(shifts, datum, source_crs, area_bounds, adcode)
        if chosen is not None:
            return _configured_plan(source_crs, chosen, notes)
    plan = _proj_plan(source_crs)
    if datum == "wgs84":
        return TransformPlan(
            plan.transform,
            "null shift WGS 84 -> CGCS2000 (the two agree to "
            f"under 1 m, accepted without parameters): {plan.description}",
            False,
            identity=plan.identity,
        )
    if not plan.ballpark:
        return plan
    label = _DATUM_LABELS.get(datum, source_crs.datum.name if source_crs.datum else "its datum")
    message = (
        f"{source_name}: only PROJ's ballpark (null) shift from {label} to "
        "CGCS2000 is available, which misplaces data by tens of metres; add a 7-parameter "
        "Helmert or 4-parameter set for this area to the ONEMAP_DATUM_SHIFTS file"
    )
    if policy == "refuse":
        raise IngestError(message)
    return TransformPlan(plan.transform, plan.description, True, [*notes, message])


def transform_geometries(plan: TransformPlan, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Apply ``plan`` to an array of shapely geometries; Z values pass through unchanged."""
    if plan.identity:
        return geoms

    def apply(coords: Coords) -> Coords:
        lon, lat = plan.transform(coords[:, 0], coords[:, 1])
        out = coords.copy()
        out[:, 0], out[:, 1] = lon, lat
        if not np.isfinite(out[:, :2]).all():
            raise IngestError(
                f"coordinates fell outside the transformation ({plan.description})"
                "; check the source CRS"
            )
        return out

    result: NDArray[np.object_] = shapely.transform(geoms, apply, include_z=None)
    return result


def helmert_pipeline(source_crs: CRS, helmert: Helmert7) -> str:
    """PROJ pipeline: source coordinates -> geocentric -> Helmert -> CGCS2000 lon/lat degrees."""
    ellipsoid = source_crs.ellipsoid
    if ellipsoid is None:
        raise IngestError(f"{source_crs.name} has no ellipsoid; cannot apply a Helmert shift")
    shape, h = f"+a={ellipsoid.semi_major_metre!r} +rf={ellipsoid.inverse_flattening!r}", helmert
    return " ".join(
        [
            "+proj=pipeline",
            _to_radians_step(source_crs, shape),
            f"+step +proj=cart {shape}",
            f"+step +proj=helmert +x={h.tx!r} +y={h.ty!r} +z={h.tz!r} +rx={h.rx!r} +ry={h.ry!r}"
            f" +rz={h.rz!r} +s={h.ds!r} +convention={h.convention}",
            "+step +inv +proj=cart +ellps=GRS80",  # CGCS2000's ellipsoid is GRS80 to 0.1 mm
            "+step +proj=unitconvert +xy_in=rad +xy_out=deg",
        ]
    )


def _to_radians_step(source_crs: CRS, ellipsoid_shape: str) -> str:
    """The step from source coordinates to lon/lat radians on the source ellipsoid."""
    if source_crs.is_geographic:
        return "+step +proj=unitconvert +xy_in=deg +xy_out=rad"
    with warnings.catch_warnings():  # PROJ.4 export warns that datum information is lost
        warnings.simplefilter("ignore", UserWarning)
        params = source_crs.to_dict()
    dropped = {
        "type",
        "no_defs",
        "towgs84",
        "nadgrids",
        "wktext",
        "datum",
        "ellps",
        "a",
        "b",
        "rf",
        "f",
        "R",
    }
    kept = [f"+{k}" if v is None else f"+{k}={v}" for k, v in params.items() if k not in dropped]
    return f"+step +inv {' '.join(kept)} {ellipsoid_shape}"


def _proj_plan(source_crs: CRS) -> TransformPlan:
    transformer = Transformer.from_crs(source_crs, CRS.from_epsg(STORAGE_SRID), always_xy=True)
    ballpark = "ballpark" in transformer.description.lower()
    description = f"PROJ: {transformer.description} [{transformer.definition}]"
    identity = transformer.definition.split(" ")[0] == "proj=noop"
    return TransformPlan(
        _transformer_function(transformer), description, ballpark, identity=identity
    )


def _configured_plan(source_crs: CRS, shift: DatumShift, notes: list[str]) -> TransformPlan:
    params = shift.parameters
    if isinstance(params, Helmert7):
        pipeline = helmert_pipeline(source_crs, params)
        try:
            transformer = Transformer.from_pipeline(pipeline)
        except ProjError as exc:
            raise IngestError(f"datum shift {shift.name!r}: PROJ rejects it ({exc})") from exc
        description = (
            f"7-param Helmert {shift.name!r} ({params.convention}, area "
            f"{shift.area.name}; operator config): {pipeline}"
        )
        return TransformPlan(_transformer_function(transformer), description, False, notes)
    return _plane_plan(source_crs, shift, params, notes)


def _plane_plan(
    source_crs: CRS, shift: DatumShift, params: PlaneSimilarity4, notes: list[str]
) -> TransformPlan:
    fitted, zone = _fitted_zone(params.projected_epsg, shift.source_datum)
    target_epsg = gauss_kruger_epsg("cgcs2000", *zone)
    to_fitted = Transformer.from_crs(source_crs, fitted, always_xy=True)
    from_target = Transformer.from_crs(
        CRS.from_epsg(target_epsg), CRS.from_epsg(STORAGE_SRID), always_xy=True
    )

    def transform(x: Coords, y: Coords) -> tuple[Coords, Coords]:
        east, north = params.apply(*_as_arrays(to_fitted.transform(x, y)))
        return _as_arrays(from_target.transform(east, north))

    description = (
        f"4-param plane similarity {shift.name!r} (area {shift.area.name}; operator "
        f"config) in EPSG:{params.projected_epsg}, read as EPSG:{target_epsg}: "
        f'dx={params.dx} dy={params.dy} rotation={params.rotation}" '
        f"scale={params.scale}ppm ({params.axis_order})"
    )
    return TransformPlan(transform, description, False, notes)


def _fitted_zone(epsg: int, datum: str) -> tuple[CRS, tuple[int, int, bool]]:
    """The CRS a 4-parameter set was fitted in and its Gauss-Krüger zone, else ValueError."""
    try:
        fitted = CRS.from_epsg(epsg)
    except CRSError as exc:
        raise ValueError(f"EPSG:{epsg} is unknown to PROJ") from exc
    zone = gauss_kruger_zone(fitted)
    if zone is None or classify_datum(fitted) != datum:
        raise ValueError(f"EPSG:{epsg} is not a {_DATUM_LABELS[datum]} Gauss-Krüger CRS")
    return fitted, zone


def _select_shift(
    shifts: Sequence[DatumShift], datum: str, source_crs: CRS, bounds: Bounds, adcode: str | None
) -> tuple[DatumShift | None, list[str]]:
    """The most specific shift for ``datum`` whose area covers the data, and notes."""
    lonlat = lonlat_bounds(source_crs, bounds)
    covering, notes = [], []
    for shift in (s for s in shifts if s.source_datum == datum):
        area = shift.area
        by_code = bool(adcode and area.adcode_prefix and adcode.startswith(area.adcode_prefix))
        if by_code or (lonlat and area.bbox and _contains(area.bbox, lonlat)):
            covering.append(shift)
        elif lonlat and area.bbox and _intersects(area.bbox, lonlat):
            notes.append(f"datum shift {shift.name!r} covers only part of the data; not used")
    covering.sort(key=_specificity)
    return (covering[0] if covering else None), notes


def _specificity(shift: DatumShift) -> tuple[int, float]:
    bbox = shift.area.bbox
    area = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) if bbox else math.inf
    return -len(shift.area.adcode_prefix or ""), area


def _contains(outer: Bounds, inner: Bounds) -> bool:
    west, south, east, north = outer
    return west <= inner[0] <= inner[2] <= east and south <= inner[1] <= inner[3] <= north


def _intersects(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _transformer_function(transformer: Transformer) -> CoordinateTransform:
    return lambda x, y: _as_arrays(transformer.transform(x, y))


def _as_arrays(xy: tuple[object, object]) -> tuple[Coords, Coords]:
    return np.asarray(xy[0], dtype=np.float64), np.asarray(xy[1], dtype=np.float64)


def _first_problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
