"""Which coordinate reference system a source uses.

A declared CRS (usually an ESRI-style ``.prj``) is matched to an EPSG code, by PROJ's
identification first and by Gauss-Krüger parameters when PROJ is unsure. Without a
declaration the CRS is inferred from the coordinates, but only for interpretations that
place the data in Guangdong, the platform's region; everything else must be declared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from layers.errors import IngestError
from layers.platform import SERVICE_AREA_LONLAT, SERVICE_AREA_MARGIN_DEG

Bounds = tuple[float, float, float, float]
DatumName = Literal["cgcs2000", "wgs84", "xian1980", "beijing1954", "other"]

GUANGDONG_LONLAT: Bounds = SERVICE_AREA_LONLAT
_GUANGDONG_MARGIN_DEG = SERVICE_AREA_MARGIN_DEG
_CHINA_LONLAT: Bounds = (72.0, 0.8, 137.9, 55.9)

_GEOGRAPHIC_EPSG = {"cgcs2000": 4490, "wgs84": 4326, "xian1980": 4610, "beijing1954": 4214}
_KNOWN_DATUMS: tuple[tuple[DatumName, tuple[str, ...]], ...] = (
    ("cgcs2000", ("china 2000", "china_2000", "cgcs2000", "china geodetic coordinate system")),
    ("xian1980", ("xian 1980", "xian_1980", "xi'an 1980", "xian1980")),
    ("beijing1954", ("beijing 1954", "beijing_1954", "beijing1954")),
    ("wgs84", ("world geodetic system 1984", "wgs 84", "wgs_1984", "wgs84")),
)
# (semi-major axis m, inverse flattening) of the ellipsoids that identify a datum when a
# hand-made .prj leaves the datum unnamed.
_ELLIPSOIDS: tuple[tuple[DatumName, float, float], ...] = (
    ("cgcs2000", 6378137.0, 298.257222101),
    ("wgs84", 6378137.0, 298.257223563),
    ("xian1980", 6378140.0, 298.257),
    ("beijing1954", 6378245.0, 298.3),
)
# First EPSG code of each Gauss-Krüger series, at central meridian 75E (3° zone 25, 6° zone
# 13); the codes then run consecutively eastwards to 135E. Key: (datum, width, zone prefix).
_GK_SERIES_START: dict[tuple[DatumName, int, bool], int] = {
    ("cgcs2000", 3, True): 4513,
    ("cgcs2000", 3, False): 4534,
    ("cgcs2000", 6, True): 4491,
    ("cgcs2000", 6, False): 4502,
    ("xian1980", 3, True): 2349,
    ("xian1980", 3, False): 2370,
    ("xian1980", 6, True): 2327,
    ("xian1980", 6, False): 2338,
    ("beijing1954", 3, True): 2401,
    ("beijing1954", 3, False): 2422,
    ("beijing1954", 6, True): 21413,
    ("beijing1954", 6, False): 21453,
}
_FIRST_CM, _LAST_CM = 75, 135
_GK_DATUM_LABELS: dict[DatumName, str] = {
    "cgcs2000": "CGCS2000",
    "xian1980": "Xi'an 1980",
    "beijing1954": "Beijing 1954",
}


@dataclass(frozen=True)
class CrsResult:
    crs: CRS
    epsg: int | None
    how: Literal["declared", "inferred"]
    warnings: list[str] = field(default_factory=list)


def classify_datum(crs: CRS) -> DatumName:
    """The geodetic datum family of ``crs``, by datum name, else by ellipsoid."""
    geodetic = crs.geodetic_crs or crs
    name = (geodetic.datum.name if geodetic.datum else "").lower()
    for datum, keywords in _KNOWN_DATUMS:
        if any(keyword in name for keyword in keywords):
            return datum
    if name and "unknown" not in name and "unnamed" not in name:
        return "other"
    ellipsoid = geodetic.ellipsoid
    if ellipsoid is None:
        return "other"
    for datum, semi_major, inv_flattening in _ELLIPSOIDS:
        if (
            abs(ellipsoid.semi_major_metre - semi_major) < 0.5
            and abs(ellipsoid.inverse_flattening - inv_flattening) < 1e-6
        ):
            return datum
    return "other"


def gauss_kruger_epsg(datum: DatumName, width: int, central_meridian: int, prefixed: bool) -> int:
    """EPSG code of a Gauss-Krüger CRS; IngestError if the series has no such zone."""
    start = _GK_SERIES_START.get((datum, width, prefixed))
    offset, remainder = divmod(central_meridian - _FIRST_CM, width)
    if start is None or remainder or not _FIRST_CM <= central_meridian <= _LAST_CM:
        raise IngestError(f"no EPSG Gauss-Krüger CRS for {datum} {width}° CM {central_meridian}E")
    return start + offset


def identify_epsg(crs: CRS) -> int | None:
    """EPSG code of ``crs``: PROJ's identification, else a match on datum and parameters."""
    return _identify(crs)[0]


def resolve_crs(
    declared: CRS | None, bounds: Bounds, *, source_name: str = "the source"
) -> CrsResult:
    """Settle the CRS of a source from its declaration or, failing that, its coordinates."""
    if not all(math.isfinite(v) for v in bounds) or bounds[0] > bounds[2] or bounds[1] > bounds[3]:
        raise IngestError(f"{source_name}: no usable coordinates (bounds {bounds}); is it empty?")
    if declared is not None:
        return _resolve_declared(declared, bounds, source_name)
    for hypothesis in (_as_geographic, _as_web_mercator, _as_zone_prefixed_gauss_kruger):
        result = hypothesis(bounds)
        if result is not None:
            return result
    _refuse_swapped_axes(bounds, source_name)
    _refuse_unprefixed_gauss_kruger(bounds, source_name)
    raise IngestError(
        f"{source_name}: declares no CRS and its coordinates {_fmt(bounds)} fit neither "
        "longitude/latitude, Web Mercator nor Gauss-Krüger in Guangdong; "
        "pass --source-crs EPSG:xxxx"
    )


def _identify(crs: CRS) -> tuple[int | None, str | None]:
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is not None:
        return epsg, None
    epsg = _epsg_by_parameters(crs)
    if epsg is None:
        return None, None
    return epsg, f"matched EPSG:{epsg} by datum and projection parameters, not by name"


def _epsg_by_parameters(crs: CRS) -> int | None:
    datum = classify_datum(crs)
    if crs.is_geographic:
        axis_units = {axis.unit_name for axis in crs.axis_info}
        return _GEOGRAPHIC_EPSG.get(datum) if axis_units == {"degree"} else None
    zone = gauss_kruger_zone(crs)
    if zone is None or datum not in _GEOGRAPHIC_EPSG or datum == "wgs84":
        return None
    width, central_meridian, prefixed = zone
    try:
        return gauss_kruger_epsg(datum, width, central_meridian, prefixed)
    except IngestError:
        return None


def gauss_kruger_zone(crs: CRS) -> tuple[int, int, bool] | None:
    """(zone width, central meridian, has zone prefix) if ``crs`` is a Chinese GK zone."""
    operation = crs.coordinate_operation
    if operation is None or operation.method_name != "Transverse Mercator":
        return None
    params = {
        param.name: float(param.value)
        for param in operation.params
        if isinstance(param.value, int | float)
    }
    central_meridian = params.get("Longitude of natural origin", math.nan)
    false_easting = params.get("False easting", math.nan)
    chinese_gk_constants = {
        "Latitude of natural origin": 0.0,
        "False northing": 0.0,
        "Scale factor at natural origin": 1.0,
    }
    if any(params.get(name) != value for name, value in chinese_gk_constants.items()):
        return None
    if not central_meridian.is_integer() or false_easting % 1e6 != 5e5:
        return None
    zone, meridian = int(false_easting // 1e6), int(central_meridian)
    if zone == 0:
        # 6° zones share their meridians with 3° zones and identical definitions: use 3°.
        return (3, meridian, False) if meridian % 3 == 0 else None
    if 25 <= zone <= 45 and meridian == 3 * zone:
        return 3, meridian, True
    if 13 <= zone <= 23 and meridian == 6 * zone - 3:
        return 6, meridian, True
    return None


def _resolve_declared(declared: CRS, bounds: Bounds, source_name: str) -> CrsResult:
    epsg, note = _identify(declared)
    warnings = [f"{source_name}: {note}"] if note else []
    if epsg is None:
        warnings.append(
            f"{source_name}: the declared CRS {declared.name!r} matches no EPSG "
            "code; it is used exactly as declared"
        )
    crs = CRS.from_epsg(epsg) if epsg is not None else declared
    if crs.is_geographic and not _is_lonlat_range(bounds):
        raise IngestError(
            f"{source_name}: declares geographic {crs.name} but its coordinates {_fmt(bounds)} are "
            "not degrees; fix the .prj or pass --source-crs EPSG:xxxx"
        )
    lonlat = lonlat_bounds(crs, bounds)
    if lonlat is None or not _within(lonlat, _CHINA_LONLAT, 0.0):
        warnings.append(
            f"{source_name}: the declared {crs.name} puts the data outside China "
            f"({_fmt(lonlat) if lonlat else 'not even on Earth'}); check the .prj"
        )
    return CrsResult(crs, epsg, "declared", warnings)


def _as_geographic(bounds: Bounds) -> CrsResult | None:
    if not _is_lonlat_range(bounds) or not lands_in_guangdong(4490, bounds):
        return None
    return _inferred(
        4490,
        "coordinates are longitude/latitude in Guangdong; assumed CGCS2000 "
        "geographic (EPSG:4490). WGS 84 data differs by under 1 m, but GCJ-02 "
        "web-map coordinates are 300-600 m off and must be converted first",
    )


def _as_web_mercator(bounds: Bounds) -> CrsResult | None:
    if not lands_in_guangdong(3857, bounds):
        return None
    return _inferred(
        3857,
        "coordinates are Web Mercator metres in Guangdong; assumed "
        "EPSG:3857 (WGS 84 / Pseudo-Mercator)",
    )


def _as_zone_prefixed_gauss_kruger(bounds: Bounds) -> CrsResult | None:
    zone = int(bounds[0] // 1e6)
    if zone != int(bounds[2] // 1e6):
        return None
    width = 3 if 25 <= zone <= 45 else 6 if 13 <= zone <= 23 else 0
    if not width:
        return None
    central_meridian = 3 * zone if width == 3 else 6 * zone - 3
    epsg = gauss_kruger_epsg("cgcs2000", width, central_meridian, True)
    if not lands_in_guangdong(epsg, bounds):
        return None
    xian = gauss_kruger_epsg("xian1980", width, central_meridian, True)
    beijing = gauss_kruger_epsg("beijing1954", width, central_meridian, True)
    return _inferred(
        epsg,
        f"eastings carry the zone prefix {zone} ({width}° zone, CM "
        f"{central_meridian}E); assumed CGCS2000 (EPSG:{epsg}). If the data is "
        f"Xi'an 1980 pass --source-crs EPSG:{xian}, if Beijing 1954 EPSG:{beijing}",
    )


def _inferred(epsg: int, warning: str) -> CrsResult:
    return CrsResult(CRS.from_epsg(epsg), epsg, "inferred", [f"no CRS declared: {warning}"])


def _refuse_swapped_axes(bounds: Bounds, source_name: str) -> None:
    swapped = (bounds[1], bounds[0], bounds[3], bounds[2])
    if _is_lonlat_range(swapped) and lands_in_guangdong(4490, swapped):
        raise IngestError(
            f"{source_name}: x runs {bounds[0]:g}..{bounds[2]:g} and y "
            f"{bounds[1]:g}..{bounds[3]:g}, i.e. latitude/longitude in swapped columns; "
            "put longitude in x and re-export"
        )


def _refuse_unprefixed_gauss_kruger(bounds: Bounds, source_name: str) -> None:
    fitting = [
        cm
        for cm in range(_FIRST_CM, _LAST_CM + 1, 3)
        if lands_in_guangdong(gauss_kruger_epsg("cgcs2000", 3, cm, False), bounds)
    ]
    if not fitting:
        return
    options = "; ".join(_candidates_for_meridian(cm) for cm in fitting)
    raise IngestError(
        f"{source_name}: declares no CRS and its coordinates {_fmt(bounds)} are Gauss-Krüger "
        "eastings without a zone prefix, so the central meridian cannot be read from them. "
        f"Candidates that place the data in Guangdong: {options}. "
        "Pass the right one as --source-crs EPSG:xxxx"
    )


def _candidates_for_meridian(central_meridian: int) -> str:
    parts = []
    for datum, label in _GK_DATUM_LABELS.items():
        codes = [gauss_kruger_epsg(datum, 3, central_meridian, False)]
        if central_meridian % 6 == 3:  # a 6° zone meridian too: same definition, own code
            codes.append(gauss_kruger_epsg(datum, 6, central_meridian, False))
        parts.append(" or ".join(f"EPSG:{code}" for code in codes) + f" ({label})")
    return f"CM {central_meridian}E: " + ", ".join(parts)


def lands_in_guangdong(epsg: int, bounds: Bounds) -> bool:
    return lands_in_area(epsg, bounds, GUANGDONG_LONLAT, _GUANGDONG_MARGIN_DEG)


def lands_in_area(epsg: int, bounds: Bounds, area: Bounds, margin: float = 0.0) -> bool:
    """``bounds`` (EPSG:``epsg``) inside ``area`` (longitude/latitude), give or take ``margin``°."""
    lonlat = lonlat_bounds(CRS.from_epsg(epsg), bounds)
    return lonlat is not None and _within(lonlat, area, margin)


def lonlat_bounds(crs: CRS, bounds: Bounds) -> Bounds | None:
    """``bounds`` as longitude/latitude on the CRS's own datum, None if not on Earth."""
    if crs.is_geographic:
        return bounds if _is_lonlat_range(bounds) else None
    geodetic = crs.geodetic_crs or CRS.from_epsg(4326)
    try:
        transformer = Transformer.from_crs(crs, geodetic, always_xy=True)
        result = transformer.transform_bounds(*bounds, densify_pts=5)
    except ProjError:
        return None
    lonlat: Bounds = (result[0], result[1], result[2], result[3])
    return lonlat if all(math.isfinite(v) for v in lonlat) else None


def _within(inner: Bounds, outer: Bounds, margin: float) -> bool:
    return (
        inner[0] >= outer[0] - margin
        and inner[1] >= outer[1] - margin
        and inner[2] <= outer[2] + margin
        and inner[3] <= outer[3] + margin
    )


def _is_lonlat_range(bounds: Bounds) -> bool:
    return -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90


def _fmt(bounds: Bounds) -> str:
    return "(" + ", ".join(f"{v:,.6g}" if abs(v) < 1000 else f"{v:,.0f}" for v in bounds) + ")"
