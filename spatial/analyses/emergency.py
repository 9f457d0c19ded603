"""Emergency response: affected area, nearest facilities, drive-time areas and routes."""

from __future__ import annotations

from typing import Annotated, Any

import geopandas as gpd
from pydantic import BaseModel, Field

from layers.errors import InvalidParameter
from spatial.analyses.common import COUNTIES, LonLat, area_of, geometry_from_geojson
from spatial.context import Context
from spatial.errors import POLYGONAL, about
from spatial.impact import affected_units, counts_per_unit, features_inside, incident_zone
from spatial.inputs import LayerInput, filter_condition, read_layer, vector_layer
from spatial.isochrones import DEFAULT_CORRIDOR_M, MAX_CORRIDOR_M, service_areas
from spatial.network import DEFAULT_LEG_SPEED_KMH, route_to_nearest
from spatial.proximity import nearest_features, nearest_in_layer
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.routing_barriers import Barriers, routable_network


class AffectedAreaInputs(BaseModel):
    incident: dict[str, Any] = Field(
        description="GeoJSON geometry of the incident (point, line or polygon, lon/lat)",
        examples=[{"type": "Point", "coordinates": [113.3245, 23.1064]}],
    )
    radius_m: float | None = Field(
        None, description="Metres around the incident; omit for a polygon such as a flood extent"
    )
    units: LayerInput = Field(COUNTIES, description="Admin units to report on")
    code_field: str = Field("adcode", description="The units' code field")
    layers: list[LayerInput] = Field(
        default_factory=list, description="Layers whose features inside are listed"
    )


def run_affected_area(inputs: AffectedAreaInputs, ctx: Context) -> AnalysisResult:
    incident = geometry_from_geojson(inputs.incident, "incident")
    zone = incident_zone(incident, inputs.radius_m)
    ctx.progress(20, "zone built")
    units = read_layer(ctx, inputs.units, within=zone, geometry=POLYGONAL)
    if inputs.code_field not in units.columns:
        raise InvalidParameter(f"code_field: the units layer has no field '{inputs.code_field}'")
    touched = affected_units(zone, units, inputs.code_field)
    ctx.progress(60, "units measured")
    layers = {spec.label: read_layer(ctx, spec, within=zone) for spec in inputs.layers}
    reach = None if inputs.radius_m is None else (incident, inputs.radius_m)
    inside = features_inside(zone, layers, units, inputs.code_field, reach, ctx.checkpoint)
    zone_frame = gpd.GeoDataFrame({"radius_m": [inputs.radius_m]}, geometry=[zone], crs=units.crs)
    return AnalysisResult(
        features={"zone": zone_frame, "units": touched, "features": inside},
        values={"counts": counts_per_unit(inside)},
    )


AFFECTED_AREA = Analysis(
    id="affected-area",
    title="Affected area of an incident",
    description="Admin units an incident zone touches, the affected km² and share per unit, and "
    "the features of chosen layers inside the zone with counts per unit.",
    domain="emergency",
    inputs=AffectedAreaInputs,
    outputs={
        "zone": OutputSpec("features", "The incident zone"),
        "units": OutputSpec("features", "Affected parts of each unit, with km² and share"),
        "features": OutputSpec("features", "Features of the chosen layers inside the zone"),
        "counts": OutputSpec("value", "Feature counts per unit and layer"),
    },
    run=run_affected_area,
    keywords=("emergency", "incident", "flood"),
)


class NearestInputs(BaseModel):
    location: LonLat
    facilities: LayerInput = Field(
        description="Facilities to rank (a point layer, or inline features; adcode restricts)"
    )
    k: int = Field(5, ge=1, le=100, description="How many facilities")


def run_nearest(inputs: NearestInputs, ctx: Context) -> AnalysisResult:
    lon, lat = inputs.location
    spec = inputs.facilities
    if spec.collection is not None and ctx.conn is not None:
        layer = vector_layer(ctx, spec)
        with about(spec.input_name):
            within = area_of(ctx, spec.adcode)
            condition = filter_condition(layer, spec.filter)
        clip = ctx.clip(layer.id)
        nearest = nearest_in_layer(ctx.conn, layer, lon, lat, inputs.k, within, condition, clip)
    else:
        nearest = nearest_features(read_layer(ctx, spec), lon, lat, inputs.k)
    return AnalysisResult(features={"nearest": nearest})


NEAREST = Analysis(
    id="nearest-facilities",
    title="Nearest facilities",
    description="The k features of a layer nearest to a location, by ellipsoidal distance "
    "(KNN index in PostGIS, re-ranked on the ellipsoid), optionally within an admin unit.",
    domain="emergency",
    inputs=NearestInputs,
    outputs={"nearest": OutputSpec("features", "The k nearest, with distance_m and rank")},
    run=run_nearest,
    keywords=("emergency", "nearest", "KNN"),
)


LegSpeed = Annotated[
    float,
    Field(
        title="Off-network speed (km/h)",
        gt=0,
        le=120,
        description="km/h on the straight legs off the network: start to its nearest road "
        "node, a facility's road node to the facility",
    ),
]


class ServiceAreaInputs(BaseModel):
    location: LonLat
    roads: LayerInput = Field(description="A published line layer (collection id)")
    minutes: list[float] = Field([5, 10, 15], min_length=1, description="Time bands")
    speed_field: str | None = Field(None, description="Numeric km/h field (default speed_kmh)")
    corridor_m: float = Field(
        DEFAULT_CORRIDOR_M,
        title="Corridor half-width (m)",
        gt=0,
        le=MAX_CORRIDOR_M,
        description="Metres either side of every reached road (and of the access leg) that "
        "a band covers, measured on the ellipsoid",
    )
    leg_speed_kmh: LegSpeed = DEFAULT_LEG_SPEED_KMH
    barriers: Barriers = None


def run_service_area(inputs: ServiceAreaInputs, ctx: Context) -> AnalysisResult:
    lon, lat = inputs.location
    with routable_network(ctx, inputs.roads, inputs.speed_field, inputs.barriers) as net:
        ctx.progress(30, "network ready")
        bands, width, speed = inputs.minutes, inputs.corridor_m, inputs.leg_speed_kmh
        areas, nodes = service_areas(ctx.connection(), net, lon, lat, bands, width, speed)
    return AnalysisResult(features={"areas": areas}, values={"reached_nodes": len(nodes)})


SERVICE_AREA = Analysis(
    id="service-area",
    title="Drive-time service area",
    description="Network isochrones: for each time band, the roads reachable from the "
    "location (edges reached part-way are cut where the time runs out; pgRouting driving "
    "distance from the road node nearest the location, reached by the straight access leg at "
    "the off-network speed), buffered by a corridor. Bands are nested.",
    domain="emergency",
    inputs=ServiceAreaInputs,
    outputs={
        "areas": OutputSpec(
            "features",
            "One corridor polygon per time band, with reached_m (metres of road reached), "
            "nodes, access_s and corridor_m",
        ),
        "reached_nodes": OutputSpec("value", "Number of road nodes reached"),
    },
    run=run_service_area,
    keywords=("emergency", "drive-time", "isochrone", "pgRouting"),
)


class RouteInputs(BaseModel):
    location: LonLat
    roads: LayerInput = Field(description="A published line layer: the road network")
    facilities: LayerInput = Field(description="Facilities collection (adcode restricts)")
    speed_field: str | None = Field(None, description="Numeric km/h field (default speed_kmh)")
    leg_speed_kmh: LegSpeed = DEFAULT_LEG_SPEED_KMH
    barriers: Barriers = None


def run_route(inputs: RouteInputs, ctx: Context) -> AnalysisResult:
    facilities = vector_layer(ctx, inputs.facilities)
    with about(inputs.facilities.input_name):
        within = area_of(ctx, inputs.facilities.adcode)
        condition = filter_condition(facilities, inputs.facilities.filter)
    lon, lat = inputs.location
    clip = ctx.clip(facilities.id)
    with routable_network(ctx, inputs.roads, inputs.speed_field, inputs.barriers) as net:
        route = route_to_nearest(
            ctx.connection(),
            net,
            facilities,
            lon,
            lat,
            within,
            condition,
            clip,
            inputs.leg_speed_kmh,
        )
    return AnalysisResult(features={"route": route})


ROUTE = Analysis(
    id="route-to-nearest",
    title="Shortest route to the nearest facility",
    description="The fastest route, door to door, to the facility reached soonest: the "
    "straight legs from the start to the road network and from the network to the facility "
    "count in the choice, the time and the length, and are drawn with the route.",
    domain="emergency",
    inputs=RouteInputs,
    outputs={
        "route": OutputSpec(
            "features",
            "The route (access leg, network, egress leg), with seconds, length_m and each "
            "part's metres",
        )
    },
    run=run_route,
    keywords=("emergency", "route", "pgRouting"),
)

ANALYSES = (AFFECTED_AREA, NEAREST, SERVICE_AREA, ROUTE)
