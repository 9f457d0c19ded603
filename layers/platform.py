"""The platform's fixed names and numbers, in one place.

Every package reads them from here: the schema the layer tables live in, the
storage CRS (CGCS2000 geographic, docs/adr/0002-storage-crs.md), the CRS84 URI,
and the administrative layers ``within=<adcode>``, analyses and tile seeding
resolve areas from (``ONEMAP_ADMIN_LAYERS`` overrides the default).
SQL files name ``onemap_data`` literally only where SQL cannot take a parameter
(migrations, which create the schema).
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.errors import InvalidParameter

DATA_SCHEMA = "onemap_data"
STORAGE_SRID = 4490  # CGCS2000 geographic, latitude first in its EPSG definition
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_ADMIN_LAYERS = "gd-province,gd-cities,gd-counties"
# The platform's service area (Guangdong), longitude/latitude; data and analysis inputs may
# spill over the border by the margin (neighbour counties, sea areas).
SERVICE_AREA_LONLAT = (109.6, 20.2, 117.4, 25.6)
SERVICE_AREA_MARGIN_DEG = 1.0


def in_service_area(bounds: tuple[float, float, float, float]) -> bool:
    """Longitude/latitude ``bounds`` inside the service area, give or take the margin."""
    (west, south, east, north), margin = SERVICE_AREA_LONLAT, SERVICE_AREA_MARGIN_DEG
    return (
        west - margin <= bounds[0] <= bounds[2] <= east + margin
        and south - margin <= bounds[1] <= bounds[3] <= north + margin
    )


def epsg_uri(srid: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid}"


@dataclass(frozen=True)
class AdminLayers:
    """The layer ids of the province, city and county units (each with an ``adcode`` field)."""

    province: str
    city: str
    county: str

    def for_level(self, level: str) -> str:
        """The layer of ``province``, ``city`` or ``county``."""
        return {"province": self.province, "city": self.city, "county": self.county}[level]

    def finest_first(self) -> tuple[str, str, str]:
        return self.county, self.city, self.province


def admin_layers(text: str = DEFAULT_ADMIN_LAYERS) -> AdminLayers:
    """``ONEMAP_ADMIN_LAYERS``: three comma-separated ids, province, city, county."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if len(names) != 3:
        raise InvalidParameter("within is not configured (ONEMAP_ADMIN_LAYERS needs 3 layers)")
    return AdminLayers(*names)
