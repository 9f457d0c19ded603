"""Input pieces shared by the registered analyses."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pydantic import AfterValidator, BaseModel, Field

from layers.errors import InvalidParameter
from layers.platform import SERVICE_AREA_LONLAT, SERVICE_AREA_MARGIN_DEG, in_service_area
from spatial.context import Context
from spatial.inputs import LayerInput, admin_unit


def _check_lon_lat(value: list[float]) -> list[float]:
    lon, lat = value
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"[{lon}, {lat}] is not a longitude, latitude pair in degrees")
    if not in_service_area((lon, lat, lon, lat)):
        raise ValueError(f"[{lon}, {lat}] lies outside the service area ({_AREA})")
    return value


_AREA = f"Guangdong, {list(SERVICE_AREA_LONLAT)} ± {SERVICE_AREA_MARGIN_DEG}°"
# The service area with its margin, for zones that may reach beyond it (a typhoon's winds)
# but must meet it somewhere.
SERVICE_BOX = shapely.box(*SERVICE_AREA_LONLAT).buffer(SERVICE_AREA_MARGIN_DEG, join_style="mitre")


def check_meets_service_area(what: str, geoms: NDArray[np.object_]) -> None:
    """400 unless every geometry is in lon/lat degrees and meets the service area."""
    bounds = shapely.total_bounds(geoms)
    in_degrees = -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    if not in_degrees or not shapely.intersects(geoms, SERVICE_BOX).all():
        raise InvalidParameter(
            f"{what}: not lon/lat degrees meeting the service area ({_AREA}): bounds "
            f"{[round(float(b), 6) for b in bounds]}"
        )


LonLat = Annotated[
    list[float],
    Field(
        min_length=2,
        max_length=2,
        description="[longitude, latitude] in degrees (CGCS2000)",
        examples=[[113.3245, 23.1064]],
    ),
    AfterValidator(_check_lon_lat),
]

COUNTIES = LayerInput(collection="gd-counties")


def geometry_from_geojson(value: dict[str, Any], what: str) -> shapely.Geometry:
    try:
        geom = shapely.geometry.shape(value)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidParameter(f"{what} is not a GeoJSON geometry: {exc}") from None
    if geom.is_empty:
        raise InvalidParameter(f"{what} is empty")
    check_in_service_area(geom.bounds, what)
    # A hand-drawn zone often crosses itself; the overlay needs it valid (ingest's rule).
    return geom if geom.is_valid else shapely.make_valid(geom)


def check_in_service_area(bounds: tuple[float, float, float, float], what: str) -> None:
    if not in_service_area(bounds):
        rounded = [round(float(b), 6) for b in bounds]
        raise InvalidParameter(f"{what} lies outside the service area ({_AREA}): bounds {rounded}")


class Within(BaseModel):
    """Restrict an analysis to one admin unit."""

    adcode: str | None = Field(None, pattern=r"^[0-9]{6}$", description="6-digit admin code")


def area_of(ctx: Context, adcode: str | None) -> shapely.Geometry | None:
    return None if adcode is None else admin_unit(ctx, adcode)
