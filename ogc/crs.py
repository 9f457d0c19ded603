"""OGC API - Features Part 2: the CRSs every collection is served in.

Axis order follows each CRS's EPSG definition, a classic source of bugs:
EPSG:4326 and 4490 are latitude first; the CGCS2000 3-degree Gauss-Krüger
codes (4524-4527 with the zone number in the easting, 4545-4548 without)
are northing (X) first; CRS84 and EPSG:3857 are x/easting first.
"""

from __future__ import annotations

import re

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.features import DEGREE_DECIMALS, METRE_DECIMALS, CrsInfo
from ogc.links import CRS84, epsg_uri

CGCS2000 = 4490
_GK_ZONES = {4524: 36, 4525: 37, 4526: 38, 4527: 39}  # zone number prefixed to the easting
_GK_CM = {4545: 108, 4546: 111, 4547: 114, 4548: 117}  # central meridian, no prefix


def _geographic(uri: str, srid: int, swap: bool, title: str) -> CrsInfo:
    return CrsInfo(uri, srid, swap, DEGREE_DECIMALS, True, same_as_storage=True, title=title)


def _projected(srid: int, title: str, *, northing_first: bool) -> CrsInfo:
    return CrsInfo(epsg_uri(srid), srid, northing_first, METRE_DECIMALS, False, title=title)


SUPPORTED: tuple[CrsInfo, ...] = (
    _geographic(CRS84, 4326, False, "WGS 84 (lon/lat)"),
    _geographic(epsg_uri(4326), 4326, True, "WGS 84 (lat/lon)"),
    _geographic(epsg_uri(CGCS2000), CGCS2000, True, "CGCS2000 (lat/lon)"),
    _projected(3857, "Web Mercator", northing_first=False),
    *(
        _projected(srid, f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}", northing_first=True)
        for srid, zone in _GK_ZONES.items()
    ),
    *(
        _projected(srid, f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E", northing_first=True)
        for srid, cm in _GK_CM.items()
    ),
)
BY_URI = {crs.uri: crs for crs in SUPPORTED}
FIRST_AXIS_NORTH_SRIDS = frozenset(c.srid for c in SUPPORTED if c.swap_axes)
DEFAULT = BY_URI[CRS84]

_EPSG_SHORT = re.compile(r"^\[?EPSG:(\d{4,6})\]?$", re.IGNORECASE)
_CRS84_SHORT = {"CRS84", "OGC:CRS84", "[OGC:CRS84]", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}


def collection_crs_uris(layer: Layer) -> list[str]:
    """The ``crs`` list of a collection (the storage CRS is among them)."""
    uris = [crs.uri for crs in SUPPORTED]
    storage = epsg_uri(layer.storage_srid)
    return uris if storage in uris else [*uris, storage]


def supported_srids() -> frozenset[int]:
    return frozenset(c.srid for c in SUPPORTED)


def crs_from_parameter(text: str | None, name: str) -> CrsInfo:
    """A ``crs``/``bbox-crs`` value (a URI; ``EPSG:n`` and safe CURIEs are accepted)."""
    if text is None or text == "":
        return DEFAULT
    value = text.strip()
    if value in _CRS84_SHORT:
        return DEFAULT
    match = _EPSG_SHORT.fullmatch(value)
    if match:
        value = epsg_uri(int(match.group(1)))
    value = value.replace("https://", "http://")
    found = BY_URI.get(value)
    if found is None:
        raise InvalidParameter(f"{name} {text!r} is not supported; use one of: {', '.join(BY_URI)}")
    return found


def content_crs_header(crs: CrsInfo) -> str:
    return f"<{crs.uri}>"
