"""Analyses that read published layers and run SQL (KNN, pgRouting) in PostGIS."""

from __future__ import annotations

import heapq

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from layers.errors import InvalidParameter
from spatial import DEFAULT_REGISTRY, Context
from spatial.inputs import LayerInput, read_layer
from spatial.proximity import nearest_features
from tests.helpers.catalog import SAMPLE_DEM as DEM
from tests.spatial.conftest import (
    GRID_ORIGIN,
    GRID_SIZE,
    GRID_SPEED_KMH,
    grid_node,
    publish_frame,
)

GEOD = Geod(ellps="GRS80")


def run(analysis_id: str, ctx: Context, **inputs: object):  # type: ignore[no-untyped-def]
    return DEFAULT_REGISTRY.get(analysis_id).execute(inputs, ctx)


def test_synthetic_layers_are_published_and_marked(ctx: Context) -> None:
    for layer_id in ("synthetic-roads", "synthetic-facilities", "synthetic-stations"):
        layer = ctx.catalog.get(layer_id)
        assert layer.metadata["synthetic"] is True
        assert "SYNTHETIC" in layer.title_en


def test_nearest_in_postgis_matches_geod(ctx: Context) -> None:
    location = [113.2644, 23.1291]
    result = run(
        "nearest-facilities",
        ctx,
        location=location,
        k=5,
        facilities={"collection": "synthetic-facilities"},
    )
    nearest = result.features["nearest"]
    every = read_layer(ctx, LayerInput(collection="synthetic-facilities"))
    expected = [GEOD.inv(*location, p.x, p.y)[2] for p in every.geometry]
    assert list(nearest["distance_m"]) == pytest.approx(sorted(expected)[:5], abs=0.01)
    pure = nearest_features(every, *location, k=5)
    assert list(pure["fid"]) == list(nearest["fid"])
    assert result.lineage == [{"layer": "synthetic-facilities", "version": 1}]


def test_nearest_within_an_admin_unit(ctx: Context) -> None:
    result = run(
        "nearest-facilities",
        ctx,
        location=[113.2644, 23.1291],
        k=3,
        facilities={"collection": "synthetic-facilities", "adcode": "440104"},
    )
    assert set(result.features["nearest"]["adcode"]) == {"440104"}


def dijkstra_seconds() -> dict[tuple[float, float], float]:
    """Travel times from grid node (0, 0) by hand: edges' geodesic metres at 10 m/s."""
    speed = GRID_SPEED_KMH / 3.6
    graph: dict[tuple[float, float], list[tuple[tuple[float, float], float]]] = {}
    for i in range(GRID_SIZE):
        for j in range(GRID_SIZE):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < GRID_SIZE and j + dj < GRID_SIZE:
                    a, b = grid_node(i, j), grid_node(i + di, j + dj)
                    seconds = GEOD.inv(*a, *b)[2] / speed
                    graph.setdefault(a, []).append((b, seconds))
                    graph.setdefault(b, []).append((a, seconds))
    best = {grid_node(0, 0): 0.0}
    queue = [(0.0, grid_node(0, 0))]
    while queue:
        cost, node = heapq.heappop(queue)
        for other, seconds in graph[node]:
            if cost + seconds < best.get(other, float("inf")):
                best[other] = cost + seconds
                heapq.heappush(queue, (cost + seconds, other))
    return best


def test_service_area_reaches_what_dijkstra_by_hand_reaches(ctx: Context) -> None:
    result = run(
        "service-area",
        ctx,
        location=list(grid_node(0, 0)),
        minutes=[5, 8],
        roads={"collection": "test-grid-roads"},
    )
    expected = dijkstra_seconds()
    areas = result.features["areas"].set_index("minutes")
    for minutes in (5, 8):
        reached = [n for n, s in expected.items() if s <= minutes * 60]
        band = areas.loc[float(minutes), "geometry"]
        assert all(band.contains(shapely.Point(n)) for n in reached)
        outside = [n for n, s in expected.items() if s > minutes * 60 + 60]
        assert not any(band.contains(shapely.Point(n)) for n in outside)
    assert result.values["reached_nodes"] == sum(1 for s in expected.values() if s <= 480)


def test_route_to_nearest_facility_time_and_length(ctx: Context) -> None:
    result = run(
        "route-to-nearest",
        ctx,
        location=list(grid_node(0, 0)),
        roads={"collection": "test-grid-roads"},
        facilities={"collection": "test-grid-hospitals"},
    )
    route = result.features["route"].iloc[0]
    expected = dijkstra_seconds()[grid_node(4, 4)]
    assert route["seconds"] == pytest.approx(expected, rel=1e-6)
    assert route["length_m"] == pytest.approx(expected * GRID_SPEED_KMH / 3.6, rel=1e-6)


def test_route_counts_the_legs_off_the_network(spatial_url: str) -> None:
    """Door to door: the start is ~410 m west of the grid, clinic A ~670 m off its road
    node one edge away, clinic B 55 m off a node two edges away. Counting the off-network
    legs at 15 km/h, B is reached sooner (A would win on network time alone)."""
    start = (GRID_ORIGIN[0] - 0.004, GRID_ORIGIN[1])
    a = (grid_node(1, 0)[0], grid_node(1, 0)[1] - 0.006)
    b = (grid_node(2, 0)[0], grid_node(2, 0)[1] - 0.0005)
    clinics = gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=[shapely.Point(a), shapely.Point(b)], crs=4490
    )
    publish_frame(spatial_url, "test-route-clinics", clinics)
    with Context.open(spatial_url) as ctx:
        result = run(
            "route-to-nearest",
            ctx,
            location=list(start),
            roads={"collection": "test-grid-roads"},
            facilities={"collection": "test-route-clinics"},
        )
        clinic_fids = read_layer(ctx, LayerInput(collection="test-route-clinics"))
    route = result.features["route"].iloc[0]
    chosen = clinic_fids.loc[clinic_fids["fid"] == route["facility_fid"], "name"].item()
    geod = Geod(ellps="GRS80")
    access = geod.inv(*start, *grid_node(0, 0))[2]
    egress = geod.inv(*grid_node(2, 0), *b)[2]
    network = dijkstra_seconds()[grid_node(2, 0)]
    leg_speed = 15 / 3.6
    assert chosen == "B"
    assert route["access_m"] == pytest.approx(access, abs=0.5)
    assert route["egress_m"] == pytest.approx(egress, abs=0.5)
    assert route["seconds"] == pytest.approx(network + (access + egress) / leg_speed, rel=1e-4)
    assert route["length_m"] == pytest.approx(
        access + network * GRID_SPEED_KMH / 3.6 + egress, rel=1e-4
    )
    drawn = route.geometry
    assert drawn.geoms[0].coords[0] == pytest.approx(start)
    assert drawn.geoms[-1].coords[-1] == pytest.approx(b)


def test_unreachable_facility_and_far_start_are_400s(ctx: Context) -> None:
    # From the island, only the mainland hospital is allowed (by its county): unreachable.
    with pytest.raises(InvalidParameter, match="can be reached from road node"):
        run(
            "route-to-nearest",
            ctx,
            location=[113.80, 22.80],
            roads={"collection": "test-grid-roads"},
            facilities={"collection": "test-grid-hospitals", "adcode": _county_of(ctx, 4, 4)},
        )
    with pytest.raises(InvalidParameter, match="km from the nearest road"):
        run("service-area", ctx, location=[116.0, 24.0], roads={"collection": "test-grid-roads"})


def _county_of(ctx: Context, i: int, j: int) -> str:
    counties = read_layer(ctx, LayerInput(collection="gd-counties"))
    hit = counties[counties.contains(shapely.Point(grid_node(i, j)))]
    return str(hit["adcode"].iloc[0])


def test_routing_on_a_polygon_layer_is_rejected(ctx: Context) -> None:
    with pytest.raises(InvalidParameter, match="LineString"):
        run("service-area", ctx, location=[113.3, 23.1], roads={"collection": "gd-counties"})


def test_unknown_layer_is_not_found(ctx: Context) -> None:
    with pytest.raises(InvalidParameter, match="no-such-layer"):
        run(
            "nearest-facilities",
            ctx,
            location=[113.3, 23.1],
            facilities={"collection": "no-such-layer"},
        )


def test_zonal_statistics_of_the_dem_per_county(ctx: Context) -> None:
    result = run(
        "zonal-statistics",
        ctx,
        raster={"path": str(DEM)},
        zones={"collection": "gd-counties"},
        percentiles=[50],
    )
    stats = result.features["statistics"]
    assert len(stats) == 124
    assert (stats["valid_count"] > 0).all()
    assert (stats["min"] <= stats["mean"]).all() and (stats["mean"] <= stats["max"]).all()


def test_affected_area_and_overlay_and_roll_up(ctx: Context) -> None:
    affected = run(
        "affected-area",
        ctx,
        incident={"type": "Point", "coordinates": [113.3, 23.1]},
        radius_m=5000,
        layers=[{"collection": "synthetic-facilities"}],
    )
    units = affected.features["units"]
    assert units["affected_area_km2"].sum() == pytest.approx(3.14159 * 25, rel=3e-3)
    overlay = run(
        "overlay-statistics",
        ctx,
        layer={"collection": "synthetic-landuse", "adcode": "440100"},
        class_field="landuse",
        units={"collection": "gd-counties", "adcode": "440100"},
    )
    rows = overlay.values["statistics"]
    assert {r["landuse"] for r in rows} <= {"farmland", "forest", "built-up", "water", "grassland"}
    rolled = run(
        "roll-up", ctx, layer={"collection": "synthetic-facilities"}, value_field="fid", how="max"
    )
    assert any(r["level"] == "province" for r in rolled.values["table"])


def test_cql2_filters_choose_the_input_features(ctx: Context) -> None:
    location = [113.2644, 23.1291]
    hospitals = run(
        "nearest-facilities",
        ctx,
        location=location,
        k=4,
        facilities={
            "collection": "synthetic-facilities",
            "filter": "kind = 'hospital' AND name LIKE '合成医院%'",
        },
    )
    assert set(hospitals.features["nearest"]["kind"]) == {"hospital"}
    every = read_layer(
        ctx, LayerInput(collection="synthetic-facilities", filter="kind = 'hospital'")
    )
    assert len(every) == 124
    expected = sorted(GEOD.inv(*location, p.x, p.y)[2] for p in every.geometry)[:4]
    assert list(hospitals.features["nearest"]["distance_m"]) == pytest.approx(expected, abs=0.01)
    with pytest.raises(InvalidParameter):
        run(
            "nearest-facilities",
            ctx,
            location=location,
            facilities={"collection": "synthetic-facilities", "filter": "colour = 'red'"},
        )


def test_route_to_a_filtered_facility(ctx: Context) -> None:
    result = run(
        "route-to-nearest",
        ctx,
        location=list(grid_node(0, 0)),
        roads={"collection": "test-grid-roads"},
        facilities={"collection": "test-grid-hospitals", "filter": "name = 'corner'"},
    )
    assert result.features["route"]["facility_fid"].iloc[0] >= 1


def test_a_new_road_version_gets_a_new_network(spatial_url: str) -> None:
    from spatial.network import ensure_network, network_names
    from tests.spatial.conftest import grid_roads, publish_frame

    publish_frame(spatial_url, "test-roads-versions", grid_roads().head(10))
    with Context.open(spatial_url) as first:
        ensure_network(first.connection(), first.layer("test-roads-versions"), None)
        old = network_names(first.layer("test-roads-versions"), "field:speed_kmh")
    publish_frame(spatial_url, "test-roads-versions", grid_roads().head(20))
    with Context.open(spatial_url) as second:
        layer = second.layer("test-roads-versions")
        assert layer.version == 2
        ensure_network(second.connection(), layer, None)
        tables = {
            r[0]
            for r in second.connection()
            .execute("SELECT tablename FROM pg_tables WHERE schemaname = 'onemap_net'")
            .fetchall()
        }
    assert set(network_names(layer, "field:speed_kmh")) <= tables
    assert not set(old) & tables
