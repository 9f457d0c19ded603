"""The ``filter-crs`` parameter: which SRID the filter's geometries are in, and
whether their axis order is latitude first.

Without ``filter-crs`` geometries are CRS84 (lon/lat). With an EPSG URI the
coordinates follow that CRS's axis order, which for the geographic CRSs used
in China (WGS 84, CGCS2000, Beijing 1954, Xi'an 1980) is latitude first.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from layers.errors import InvalidParameter

# Geographic CRSs whose EPSG definition puts latitude first. Also the CRSs in
# which a BBOX with west > east is read as crossing the antimeridian.
LAT_FIRST_SRIDS: frozenset[int] = frozenset({4326, 4490, 4214, 4610})

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI = re.compile(r"https?://www\.opengis\.net/def/crs/EPSG/0/(\d{4,6})")
_EPSG_CODE = re.compile(r"\[?EPSG:(\d{4,6})\]?", re.IGNORECASE)


@dataclass(frozen=True)
class FilterCrs:
    """The SRID of filter geometries and whether their first axis is latitude."""

    srid: int
    lat_first: bool


CRS84 = FilterCrs(srid=4326, lat_first=False)


def filter_crs_from_uri(
    uri: str | None, *, lat_first_srids: Collection[int] = LAT_FIRST_SRIDS
) -> FilterCrs:
    """Read a ``filter-crs`` value (an OGC CRS URI; ``EPSG:n`` is also accepted).

    Whether the layer supports that CRS is for the caller to check.
    """
    if uri is None or uri.strip() in (CRS84_URI, "CRS84", "[OGC:CRS84]", "OGC:CRS84"):
        return CRS84
    text = uri.strip()
    match = _EPSG_URI.fullmatch(text) or _EPSG_CODE.fullmatch(text)
    if match is None:
        raise InvalidParameter(
            f"filter-crs {uri!r} is not a CRS URI this server reads; use {CRS84_URI} "
            "or http://www.opengis.net/def/crs/EPSG/0/<code>, e.g. .../EPSG/0/4490"
        )
    srid = int(match.group(1))
    return FilterCrs(srid=srid, lat_first=srid in lat_first_srids)
