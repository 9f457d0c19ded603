"""The CRSs every collection is served in (OGC API - Features Part 2) and the one
reader of CRS URIs, for ``crs``, ``bbox-crs`` and ``filter-crs`` alike.

Axis order follows each CRS's EPSG definition, a classic source of bugs:
EPSG:4326 and 4490 are latitude first; the CGCS2000 3-degree Gauss-Krüger
codes (4524-4527 with the zone number in the easting, 4545-4548 without)
are northing (X) first; CRS84 and EPSG:3857 are x/easting first.
``FIRST_AXIS_NORTH_SRIDS`` is the one set that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layers.catalog import Layer
from layers.errors import InvalidParameter
from layers.platform import CRS84_URI, STORAGE_SRID, epsg_uri

DEGREE_DECIMALS = 7  # ~1 cm at Guangdong's latitude
METRE_DECIMALS = 2
_GK_ZONES = {4524: 36, 4525: 37, 4526: 38, 4527: 39}  # zone number prefixed to the easting
_GK_CM = {4545: 108, 4546: 111, 4547: 114, 4548: 117}  # central meridian, no prefix


@dataclass(frozen=True)
class CrsInfo:
    """A CRS a collection is served in, and how its coordinates are written.

    ``swap_axes``: the CRS's first axis is latitude or northing (EPSG:4326, 4490,
    the Gauss-Krüger zones) while PostGIS keeps x = longitude/easting first.
    ``same_as_storage``: the stored coordinates are already right (CRS84/4326/4490
    over CGCS2000 storage: a null transformation, see ADR 0002), so no
    ST_Transform is run per row.
    """

    uri: str
    srid: int
    swap_axes: bool
    decimals: int
    geographic: bool
    same_as_storage: bool = False
    title: str = ""


@dataclass(frozen=True)
class FilterCrs:
    """The SRID of ``filter`` geometries and whether their first axis is latitude/northing."""

    srid: int
    lat_first: bool


def _geographic(uri: str, srid: int, swap: bool, title: str) -> CrsInfo:
    return CrsInfo(uri, srid, swap, DEGREE_DECIMALS, True, same_as_storage=True, title=title)


def _projected(srid: int, title: str, *, northing_first: bool) -> CrsInfo:
    return CrsInfo(epsg_uri(srid), srid, northing_first, METRE_DECIMALS, False, title=title)


SUPPORTED: tuple[CrsInfo, ...] = (
    _geographic(CRS84_URI, 4326, False, "WGS 84 (lon/lat)"),
    _geographic(epsg_uri(4326), 4326, True, "WGS 84 (lat/lon)"),
    _geographic(epsg_uri(STORAGE_SRID), STORAGE_SRID, True, "CGCS2000 (lat/lon)"),
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
# Where a bbox with west > east crosses the antimeridian.
GEOGRAPHIC_SRIDS = frozenset(c.srid for c in SUPPORTED if c.geographic)
DEFAULT = BY_URI[CRS84_URI]
CRS84 = FilterCrs(srid=4326, lat_first=False)  # filter geometries without filter-crs

_EPSG_SHORT = re.compile(r"^\[?EPSG:(\d{4,6})\]?$", re.IGNORECASE)
_EPSG_URI = re.compile(r"^http://www\.opengis\.net/def/crs/EPSG/0/(\d{4,6})$")
_CRS84_SHORT = {"CRS84", "OGC:CRS84", "[OGC:CRS84]", CRS84_URI}


def canonical_uri(text: str) -> str:
    """A CRS value as its http URI: ``EPSG:n``, ``[EPSG:n]``, CRS84 CURIEs and https accepted."""
    value = text.strip()
    if value in _CRS84_SHORT:
        return CRS84_URI
    match = _EPSG_SHORT.fullmatch(value)
    if match:
        return epsg_uri(int(match.group(1)))
    value = value.replace("https://", "http://", 1)
    return CRS84_URI if value in _CRS84_SHORT else value


def regional_crs(layer: Layer) -> tuple[CrsInfo, ...]:
    """The UTM zone CRSs of a layer whose extent lies in one 6-degree zone: WGS 84 / UTM
    everywhere, ETRS89 / UTM (EPSG:258zz) in Europe's zones 28-38. A partner's or a test
    data set outside China (the Part 4 suite's Heidelberg buildings: EPSG:25832) is then
    served and edited in its own metric CRS; Guangdong's layers keep the CGCS2000 ones."""
    if layer.extent is None:
        return ()
    west, south, east, north = layer.extent
    zone = int((west + 180) // 6) + 1
    if not 1 <= zone <= 60 or east > (zone * 6 - 180) + 1e-9 or not -80 <= south <= north <= 84:
        return ()
    north_hemisphere = south >= 0
    found = [
        _projected(
            (32600 if north_hemisphere else 32700) + zone,
            f"WGS 84 / UTM {zone}",
            northing_first=False,
        )
    ]
    if north_hemisphere and 28 <= zone <= 38 and south >= 34:
        found.append(_projected(25800 + zone, f"ETRS89 / UTM {zone}N", northing_first=False))
    return tuple(found)


CRS_SETTING = "ONEMAP_CRS_BY_REFERENCE"


@dataclass(frozen=True)
class ServedCrs:
    """The one rule for which CRSs this deployment serves and accepts.

    ``by_reference`` (``ONEMAP_CRS_BY_REFERENCE``, default true): OGC API - Features
    Part 2 — every collection in ``SUPPORTED`` and its regional CRSs. False: CRS84 only,
    as an API without Part 2 (Part 4 /req/features/crs84): no Part 2 conformance class,
    ``crs`` is ``[CRS84]``, no ``storageCrs``, and any other ``crs``, ``bbox-crs``,
    ``filter-crs``, ``Content-Crs``, ``srsName`` or ``coordRefSys`` is a 400 that names
    the setting. Conformance, collections, items and edits all ask this object.
    """

    by_reference: bool = True

    def of(self, layer: Layer | None = None) -> tuple[CrsInfo, ...]:
        if not self.by_reference:
            return (DEFAULT,)
        return (*SUPPORTED, *(regional_crs(layer) if layer else ()))

    def collection_uris(self, layer: Layer) -> list[str]:
        """A collection's ``crs`` list (with Part 2 the storage CRS is among them)."""
        uris = [crs.uri for crs in self.of(layer)]
        storage = epsg_uri(layer.storage_srid)
        return uris if not self.by_reference or storage in uris else [*uris, storage]

    def storage_crs(self, layer: Layer) -> str | None:
        """``storageCrs`` (a Part 2 member: none without it)."""
        return epsg_uri(layer.storage_srid) if self.by_reference else None

    def parse(self, text: str | None, name: str, layer: Layer | None = None) -> CrsInfo:
        """A ``crs``/``bbox-crs``/``Content-Crs`` value (a URI; ``EPSG:n`` and safe CURIEs
        are accepted): a CRS of every collection, or one of ``layer``'s regional CRSs."""
        if text is None or text == "":
            return DEFAULT
        served = {c.uri: c for c in self.of(layer)}
        found = served.get(canonical_uri(text))
        if found is not None:
            return found
        if not self.by_reference:
            raise InvalidParameter(
                f"{name} {text!r} is not supported: this service serves and accepts "
                f"{CRS84_URI} only ({CRS_SETTING}=false)"
            )
        raise InvalidParameter(f"{name} {text!r} is not supported; use one of: {', '.join(served)}")

    def filter_crs(self, text: str | None, layer: Layer) -> FilterCrs | None:
        """A ``filter-crs`` value: the EPSG code of a CRS the collection is served in
        (None: not given, CRS84)."""
        if text is None:
            return None
        if not self.by_reference:
            self.parse(text, "filter-crs", layer)  # CRS84 or a 400
            return CRS84
        crs = filter_crs_from_uri(text)
        if crs.srid not in {c.srid for c in self.of(layer)}:
            raise InvalidParameter(
                f"filter-crs {text!r} is not one of the CRSs of collection '{layer.id}'; "
                "see its 'crs' list"
            )
        return crs


PART2_CONFORMANCE = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"


def filter_crs_from_uri(uri: str | None) -> FilterCrs:
    """Read a ``filter-crs`` value (the same URIs as ``crs``; any EPSG code).

    Whether the layer supports that CRS is for the caller to check.
    """
    if uri is None:
        return CRS84
    value = canonical_uri(uri)
    if value == CRS84_URI:
        return CRS84
    match = _EPSG_URI.fullmatch(value)
    if match is None:
        raise InvalidParameter(
            f"filter-crs {uri!r} is not a CRS URI this server reads; use {CRS84_URI} "
            "or http://www.opengis.net/def/crs/EPSG/0/<code>, e.g. .../EPSG/0/4490"
        )
    srid = int(match.group(1))
    return FilterCrs(srid=srid, lat_first=srid in FIRST_AXIS_NORTH_SRIDS)


def content_crs_header(crs: CrsInfo) -> str:
    return f"<{crs.uri}>"
