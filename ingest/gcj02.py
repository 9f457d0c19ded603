"""GCJ-02 ("Mars coordinates") to and from WGS 84.

Web maps in China (Amap, Tencent, and Baidu before its own extra offset) publish GCJ-02,
WGS 84 perturbed by a published, deliberately non-linear formula: 300-600 m in Guangdong.
The forward formula is below; its inverse has no closed form, so it is solved by
fixed-point iteration. CGCS2000 and WGS 84 agree to under a metre, so WGS 84 output is
stored as EPSG:4490 without a further shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

Coords = NDArray[np.float64]

# The Krassowsky semi-major axis and squared eccentricity the published formula uses.
_SEMI_MAJOR = 6378245.0
_ECC_SQUARED = 0.00669342162296594323
_TOLERANCE_DEG = 1e-7  # about 1 cm
_MAX_ITERATIONS = 30


@dataclass(frozen=True)
class Gcj02Conversion:
    geometries: NDArray[np.object_]
    round_trip_error_m: float  # max distance between forward(inverse(p)) and p


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where the formula applies no offset (the usual rectangle around China)."""
    lon_a, lat_a = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """The published forward formula, vectorised."""
    lon_a, lat_a = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _offset_degrees(lon_a, lat_a)
    outside = out_of_china(lon_a, lat_a)
    return lon_a + np.where(outside, 0.0, d_lon), lat_a + np.where(outside, 0.0, d_lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """Inverse by fixed-point iteration: w <- w - (forward(w) - g) until < 1e-7 degrees."""
    target_lon, target_lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    wgs_lon, wgs_lat = target_lon.copy(), target_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fwd_lon, fwd_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        err_lon, err_lat = fwd_lon - target_lon, fwd_lat - target_lat
        wgs_lon, wgs_lat = wgs_lon - err_lon, wgs_lat - err_lat
        # The offset varies by well under 1% of any step, so each pass shrinks the error
        # about a hundredfold and 3-4 passes suffice.
        if max(_max_abs(err_lon), _max_abs(err_lat)) < _TOLERANCE_DEG:
            break
    return wgs_lon, wgs_lat


def gcj02_to_cgcs2000(geoms: NDArray[np.object_]) -> Gcj02Conversion:
    """Convert GCJ-02 lon/lat geometries to CGCS2000 (via WGS 84) and measure the residual."""
    coords = shapely.get_coordinates(geoms)
    if len(coords) == 0:
        return Gcj02Conversion(np.asarray(geoms, dtype=object), 0.0)
    wgs_lon, wgs_lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    back_lon, back_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    _, _, distance = Geod(ellps="WGS84").inv(back_lon, back_lat, coords[:, 0], coords[:, 1])
    converted: NDArray[np.object_] = shapely.transform(geoms, _gcj02_to_wgs84_xy, include_z=None)
    return Gcj02Conversion(converted, float(np.max(distance)))


def _gcj02_to_wgs84_xy(coords: Coords) -> Coords:
    out = coords.copy()
    out[:, 0], out[:, 1] = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return out


def _offset_degrees(lon: Coords, lat: Coords) -> tuple[Coords, Coords]:
    """The GCJ-02 offset at (lon, lat): metres-like terms scaled to degrees on Krassowsky."""
    x, y = lon - 105.0, lat - 35.0
    d_lat_m, d_lon_m = _latitude_term(x, y), _longitude_term(x, y)
    phi = np.radians(lat)
    w = 1.0 - _ECC_SQUARED * np.sin(phi) ** 2
    meridian_radius = _SEMI_MAJOR * (1.0 - _ECC_SQUARED) / (w * np.sqrt(w))
    parallel_radius = _SEMI_MAJOR / np.sqrt(w) * np.cos(phi)
    return np.degrees(d_lon_m / parallel_radius), np.degrees(d_lat_m / meridian_radius)


def _shared_waves(x: Coords) -> Coords:
    return (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0


def _latitude_term(x: Coords, y: Coords) -> Coords:
    polynomial = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    waves = (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    waves += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    result: Coords = polynomial + _shared_waves(x) + waves
    return result


def _longitude_term(x: Coords, y: Coords) -> Coords:
    polynomial = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    waves = (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    waves += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    result: Coords = polynomial + _shared_waves(x) + waves
    return result


def _max_abs(values: Coords) -> float:
    return float(np.max(np.abs(values))) if values.size else 0.0
