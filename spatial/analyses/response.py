"""Routing for response: OD cost matrix, closest-N facilities, evacuation to shelters.

Every process here (and route-to-nearest, service-area) takes the same ``barriers`` input,
applied by ``spatial.routing_barriers.routable_network``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from spatial.analyses.emergency import LegSpeed
from spatial.context import Context
from spatial.inputs import LayerInput
from spatial.network import DEFAULT_LEG_SPEED_KMH
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult
from spatial.routing_barriers import Barriers, routable_network
from spatial.routing_closest import closest_facilities
from spatial.routing_evacuation import counts, evacuate
from spatial.routing_matrix import MAX_PLACES, Router, od_matrix, read_places

MAX_FACILITIES = 1000  # closest-N ranks by pgr_dijkstraCost only: more ends are cheap
PLACES = f"points, or a point on each surface; at most {MAX_PLACES}"


class RoadsInputs(BaseModel):
    roads: LayerInput = Field(description="A published line layer: the road network")
    speed_field: str | None = Field(None, description="Numeric km/h field (default speed_kmh)")
    leg_speed_kmh: LegSpeed = DEFAULT_LEG_SPEED_KMH
    barriers: Barriers = None


class MatrixInputs(RoadsInputs):
    origins: LayerInput = Field(
        description=f"Origins: a layer (filter, adcode) or inline; {PLACES}"
    )
    destinations: LayerInput = Field(description=f"Destinations, as origins; {PLACES}")


def run_matrix(inputs: MatrixInputs, ctx: Context) -> AnalysisResult:
    with routable_network(ctx, inputs.roads, inputs.speed_field, inputs.barriers) as net:
        origins = read_places(ctx, net, inputs.origins, "origin")
        ends = read_places(ctx, net, inputs.destinations, "destination")
        ctx.progress(30, "places snapped")
        router = Router(ctx.connection(), net, inputs.leg_speed_kmh)
        pairs, matrix = od_matrix(router, origins, ends)
    return AnalysisResult(features={"pairs": pairs}, values={"matrix": matrix})


MATRIX = Analysis(
    id="od-cost-matrix",
    title="Origin-destination cost matrix",
    description="Door-to-door minutes and metres from every origin to every destination over "
    "the road network (pgRouting many to many; straight access and egress legs at the "
    "off-network speed), closed roads left out. Unreachable pairs are null with the reason.",
    domain="emergency",
    inputs=MatrixInputs,
    outputs={
        "pairs": OutputSpec(
            "features",
            "One straight line per pair with origin_fid, destination_fid, minutes, metres "
            "and reason (null when reachable)",
        ),
        "matrix": OutputSpec(
            "value", "origins and destinations (fids) and the minutes and metres matrices"
        ),
    },
    run=run_matrix,
    keywords=("emergency", "OD matrix", "pgRouting"),
)


class ClosestInputs(RoadsInputs):
    incidents: LayerInput = Field(description=f"Incidents: a layer or inline; {PLACES}")
    facilities: LayerInput = Field(
        description=f"Facilities to rank (filter, adcode); at most {MAX_FACILITIES}"
    )
    n: int = Field(3, ge=1, le=10, description="How many facilities per incident")
    routes: bool = Field(True, description="Draw the routes (false: straight lines)")


def run_closest(inputs: ClosestInputs, ctx: Context) -> AnalysisResult:
    with routable_network(ctx, inputs.roads, inputs.speed_field, inputs.barriers) as net:
        incidents = read_places(ctx, net, inputs.incidents, "incident")
        facilities = read_places(ctx, net, inputs.facilities, "facility", MAX_FACILITIES)
        ctx.progress(30, "places snapped")
        router = Router(ctx.connection(), net, inputs.leg_speed_kmh)
        closest, unreached = closest_facilities(
            router, incidents, facilities, inputs.n, inputs.routes
        )
    return AnalysisResult(features={"closest": closest}, values={"unreached": unreached})


CLOSEST = Analysis(
    id="closest-facilities",
    title="Closest facilities for many incidents",
    description="For each incident the n facilities reached soonest by road, door to door "
    "(access and egress legs included), ranked, with their routes; closed roads left out.",
    domain="emergency",
    inputs=ClosestInputs,
    outputs={
        "closest": OutputSpec(
            "features",
            "One route per incident and facility with rank, minutes, metres, access_m and egress_m",
        ),
        "unreached": OutputSpec("value", "Incidents that reach no facility, with the reason"),
    },
    run=run_closest,
    keywords=("emergency", "closest facility", "pgRouting"),
)


class EvacuationInputs(RoadsInputs):
    origins: LayerInput = Field(description=f"Where people are: a layer or inline; {PLACES}")
    people_field: str = Field("population", description="The origins' field of people")
    shelters: LayerInput = Field(description=f"Shelters: a layer or inline; {PLACES}")
    capacity_field: str = Field("capacity", description="The shelters' field of places")
    routes: bool = Field(False, description="Draw each assignment's route (false: straight)")


def run_evacuation(inputs: EvacuationInputs, ctx: Context) -> AnalysisResult:
    with routable_network(ctx, inputs.roads, inputs.speed_field, inputs.barriers) as net:
        origins = read_places(ctx, net, inputs.origins, "origin")
        shelters = read_places(ctx, net, inputs.shelters, "shelter")
        people = counts(origins, inputs.people_field, "people_field")
        capacity = counts(shelters, inputs.capacity_field, "capacity_field")
        ctx.progress(30, "places snapped")
        router = Router(ctx.connection(), net, inputs.leg_speed_kmh)
        frames, summary = evacuate(router, origins, people, shelters, capacity, inputs.routes)
    return AnalysisResult(features=frames, values={"summary": summary})


EVACUATION = Analysis(
    id="evacuation",
    title="Evacuation to shelters with capacity",
    description="Assigns the people at each origin to shelters so that as many as possible "
    "are sheltered within the shelters' capacities and, among such assignments, the total "
    "door-to-door travel time is least (exact min-cost max-flow on the network times); "
    "reports who cannot be sheltered and why. Closed roads left out.",
    domain="emergency",
    inputs=EvacuationInputs,
    outputs={
        "assignments": OutputSpec(
            "features", "Origin to shelter flows with people, minutes and metres"
        ),
        "origins": OutputSpec("features", "Origins with people, assigned, unassigned, reason"),
        "shelters": OutputSpec("features", "Shelters with capacity and assigned"),
        "summary": OutputSpec(
            "value", "people, assigned, unassigned, person_minutes, mean and max minutes"
        ),
    },
    run=run_evacuation,
    keywords=("emergency", "evacuation", "shelter", "min-cost flow", "pgRouting"),
)

ANALYSES = (MATRIX, CLOSEST, EVACUATION)
