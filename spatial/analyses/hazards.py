"""Hazard zones: typhoon wind circles along a forecast track, flood inundation from a DEM."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

import geopandas as gpd
import shapely
from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from layers.errors import InvalidParameter
from spatial.analyses.common import SERVICE_BOX, LonLat
from spatial.bounds import raster_cost
from spatial.context import Context
from spatial.flood import flood_of
from spatial.inputs import RasterInput, raster_source
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.typhoon import QUADRANTS, TrackPoint, swept_areas, wind_circles

Radii = list[float]


class ForecastPoint(BaseModel):
    time: AwareDatetime = Field(description="Forecast time with its offset (+08:00)")
    position: list[float] = Field(min_length=2, max_length=2, description="[lon, lat]")
    radii_km: dict[Literal["7", "10", "12"], Radii] = Field(
        description="km per quadrant NE, SE, SW, NW for the 7-, 10- and 12-level winds",
        examples=[{"7": [300, 280, 250, 280], "10": [120, 100, 100, 110], "12": [50, 50, 40, 50]}],
    )

    @field_validator("position")
    @classmethod
    def _lon_lat(cls, value: list[float]) -> list[float]:
        if not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
            raise ValueError(f"{value} is not a longitude, latitude pair in degrees")
        return value

    @field_validator("radii_km")
    @classmethod
    def _radii(cls, value: dict[str, Radii]) -> dict[str, Radii]:
        for level, radii in value.items():
            if len(radii) != len(QUADRANTS) or not all(0 <= r <= 1500 for r in radii):
                raise ValueError(f"level {level}: give 4 radii (NE, SE, SW, NW) of 0..1500 km")
        for low, high in (("7", "10"), ("10", "12")):
            if (
                low in value
                and high in value
                and any(h > w for w, h in zip(value[low], value[high], strict=True))
            ):
                raise ValueError(f"a level-{high} radius exceeds the level-{low} one")
        return value


class TyphoonInputs(BaseModel):
    track: list[ForecastPoint] = Field(
        min_length=1,
        max_length=200,
        description="Forecast points in time order: time, [lon, lat] and the wind radii",
    )

    @model_validator(mode="after")
    def _in_time_order(self) -> TyphoonInputs:
        times = [p.time for p in self.track]
        if any(b <= a for a, b in pairwise(times)):
            raise ValueError("track: forecast times must increase")
        return self


def _track(points: list[ForecastPoint]) -> list[TrackPoint]:
    """Points in metres; a level a point does not give has radius 0 there (no such wind)."""
    levels: set[str] = {level for p in points for level in p.radii_km}
    track = []
    for p in points:
        given: dict[str, Radii] = {str(k): v for k, v in p.radii_km.items()}
        radii = {level: _metres(given.get(level, [0.0] * 4)) for level in levels}
        track.append(TrackPoint(p.time, p.position[0], p.position[1], radii))
    return track


def _metres(km: Radii) -> tuple[float, float, float, float]:
    ne, se, sw, nw = (r * 1000 for r in km)
    return ne, se, sw, nw


def run_typhoon(inputs: TyphoonInputs, ctx: Context) -> AnalysisResult:
    track = _track(inputs.track)
    areas = swept_areas(track)
    reach = areas.geometry.values._data
    if not len(reach) or not shapely.intersects(reach, SERVICE_BOX).any():
        raise InvalidParameter("track: the wind circles never reach the service area")
    positions = [(p.lon, p.lat) for p in track]
    line = shapely.LineString(positions) if len(track) > 1 else shapely.Point(positions[0])
    tracks = gpd.GeoDataFrame({"points": [len(track)]}, geometry=[line], crs=areas.crs)
    return AnalysisResult(
        features={"areas": areas, "circles": wind_circles(track), "track": tracks}
    )


TYPHOON = Analysis(
    id="typhoon-wind-circles",
    title="Typhoon wind circles along a forecast track",
    description="Wind-circle polygons of the 7-, 10- and 12-level winds from quadrant radii "
    "(NE, SE, SW, NW, as CMA advisories give them) at each forecast point, on the ellipsoid, "
    "and the area each level sweeps along the track (centre and radii moving linearly "
    "between points) — usable as the zones of population-exposure.",
    domain="emergency",
    inputs=TyphoonInputs,
    outputs={
        "areas": OutputSpec("features", "Swept area per wind level along the track"),
        "circles": OutputSpec("features", "Wind circle per forecast point and level"),
        "track": OutputSpec("features", "The forecast track"),
    },
    run=run_typhoon,
    keywords=("emergency", "typhoon", "wind circle", "台风风圈"),
)


class FloodInputs(BaseModel):
    dem: RasterInput = Field(description="Elevation raster in metres: a raster layer, e.g. gd-dem")
    water_level_m: float = Field(
        ge=-500, le=9000, description="Water surface height (m), same datum as the DEM"
    )
    seeds: list[LonLat] = Field(
        min_length=1, max_length=100, description="River or coast points the water comes from"
    )


# Grids held at once: the DEM as read, the below-level mask and the reach (bytes: one
# float grid between them), the depth, and the work of drawing the extent.
FLOOD_ARRAYS = 4


def run_flood(inputs: FloodInputs, ctx: Context) -> AnalysisResult:
    seeds = [(s[0], s[1]) for s in inputs.seeds]
    source = raster_source(ctx, inputs.dem)
    flooded, depths = ctx.compute(flood_of, source, inputs.water_level_m, seeds)
    return AnalysisResult(features={"extent": flooded}, rasters={"depth": depths})


FLOOD = Analysis(
    id="flood-inundation",
    title="Flood inundation at a water level",
    description="Cells of a DEM below a water level that the water reaches from the given "
    "seeds through edge-neighbouring cells below the level (not a bathtub: basins behind "
    "higher ground stay dry), as a polygon with km² and depths, and the depth raster — "
    "usable as the zone of population-exposure.",
    domain="emergency",
    inputs=FloodInputs,
    outputs={
        "extent": OutputSpec("features", "The inundated area, with area_km2 and depths"),
        "depth": OutputSpec("raster", "Water depth in metres (NaN where dry)"),
    },
    run=run_flood,
    keywords=("emergency", "flood", "inundation", "DEM"),
    estimate=lambda inputs, ctx: raster_cost(ctx, inputs.dem, FLOOD_ARRAYS),
)

ANALYSES = (TYPHOON, FLOOD)
