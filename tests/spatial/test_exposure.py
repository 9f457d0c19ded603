"""Population exposure in other processes' zones, against a geopandas overlay (equal-area)."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from bench.spatial_exposure import geopandas_people
from layers.errors import InvalidParameter
from spatial import DEFAULT_REGISTRY, Context
from spatial.exposure import population_grid
from spatial.geodesy import STORAGE_CRS
from spatial.inputs import LayerInput, read_layer

GRID = LayerInput(collection="synthetic-population-grid")


def run(analysis_id: str, ctx: Context, **inputs: Any):  # type: ignore[no-untyped-def]
    return DEFAULT_REGISTRY.get(analysis_id).execute(inputs, ctx)


def feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """A process's features output as the caller gets it, to pass on as inline zones."""
    collection: dict[str, Any] = json.loads(frame.to_json(na="null", default=str))
    return collection


def test_people_and_facilities_in_a_typhoon_an_incident_and_a_flood_zone(ctx: Context) -> None:
    radii = {"7": [90, 80, 70, 80], "10": [40, 35, 30, 35]}
    typhoon = run(
        "typhoon-wind-circles",
        ctx,
        track=[
            {"time": "2026-09-01T08:00+08:00", "position": [115.2, 21.3], "radii_km": radii},
            {"time": "2026-09-01T20:00+08:00", "position": [113.9, 22.4], "radii_km": radii},
        ],
    )
    incident = run(
        "affected-area",
        ctx,
        incident={"type": "Point", "coordinates": [113.3, 23.1]},
        radius_m=20_000,
    )
    flood = run(
        "flood-inundation",
        ctx,
        dem={"collection": "gd-dem"},
        water_level_m=12,
        seeds=[[113.5, 22.9]],
    )
    zones = pd.concat(
        [
            typhoon.features["areas"].assign(
                zone="wind-" + typhoon.features["areas"]["level"].astype(str)
            ),
            incident.features["zone"].assign(zone="incident"),
            flood.features["extent"].assign(zone="flood"),
        ],
        ignore_index=True,
    )[["zone", "geometry"]]
    result = run(
        "population-exposure",
        ctx,
        zones={"features": feature_collection(zones)},
        zone_field="zone",
        facilities={
            "collection": "synthetic-facilities",
            "filter": "kind IN ('school','hospital')",
        },
    )
    cells = read_layer(ctx, GRID, within=shapely.union_all(zones.geometry.values))
    expected = geopandas_people(cells, gpd.GeoDataFrame(zones, crs=STORAGE_CRS))
    per_zone = result.features["zones"].set_index("zone")
    assert set(per_zone.index) == {"wind-7", "wind-10", "incident", "flood"}
    for zone, people in expected.items():
        assert per_zone.loc[zone, "people"] == pytest.approx(people, rel=0.005)  # the brief's 0.5 %
    assert per_zone.loc["wind-7", "people"] > per_zone.loc["wind-10", "people"] > 1e6

    area = shapely.union_all(zones.geometry.values)
    counties = read_layer(ctx, LayerInput(collection="gd-counties"), within=area)
    parts = gpd.overlay(
        gpd.GeoDataFrame(zones, crs=STORAGE_CRS),
        counties[["adcode", "geometry"]],
        how="intersection",
    )
    parts["zone"] = parts["zone"] + "/" + parts["adcode"]
    by_county = geopandas_people(cells, parts[["zone", "geometry"]])
    units = result.features["units"]
    assert "天河区" in set(units["unit_name"])  # the incident at Guangzhou's centre
    got = units.set_index(units["zone"] + "/" + units["unit_code"])["people"]
    big = by_county[by_county > 1000]  # (slivers of the overlay's own rounding aside)
    assert got.reindex(big.index).to_numpy() == pytest.approx(big.to_numpy(), rel=0.005)

    facilities = read_layer(ctx, LayerInput(collection="synthetic-facilities"))
    facilities = facilities[facilities["kind"].isin(["school", "hospital"])]
    joined = gpd.sjoin(facilities, gpd.GeoDataFrame(zones, crs=STORAGE_CRS), predicate="within")
    reference = joined.groupby(["zone", "kind"]).size()
    for (zone, kind), n in reference.items():
        assert per_zone.loc[zone, "facilities"].get(kind) == n
    assert sum(sum(c.values()) for c in per_zone["facilities"]) == len(joined)


def test_a_grid_is_laid_onto_its_lattice_exactly() -> None:
    cells = gpd.GeoDataFrame(
        {"population": [100, 200, 300]},
        geometry=[shapely.box(113.0, 23.0, 113.05, 23.05), shapely.box(113.05, 23.0, 113.1, 23.05),
                  shapely.box(113.05, 22.95, 113.1, 23.0)],
        crs=STORAGE_CRS,
    )  # fmt: skip
    grid = population_grid(cells, "population")
    assert grid.population.tolist() == [[100, 200], [0, 300]]
    half = shapely.box(113.025, 22.95, 113.1, 23.05)  # half the first cell, all of the others
    assert grid.people_in(half) == pytest.approx(50 + 200 + 300, rel=1e-12)


def test_a_layer_that_is_no_grid_is_a_400_naming_the_input(ctx: Context) -> None:
    zone = shapely.box(113.2, 23.0, 113.4, 23.2)
    zones = {"features": feature_collection(gpd.GeoDataFrame(geometry=[zone], crs=STORAGE_CRS))}
    with pytest.raises(InvalidParameter, match="population: the population layer is not a regular"):
        run(
            "population-exposure",
            ctx,
            zones=zones,
            population={"collection": "gd-counties"},
            population_field="adcode",
        )
    with pytest.raises(InvalidParameter, match="zone_field: the zones have no field 'name'"):
        run("population-exposure", ctx, zones=zones, zone_field="name")
    with pytest.raises(InvalidParameter, match=r"population_field: .* no field 'people'"):
        run("population-exposure", ctx, zones=zones, population_field="people")
    with pytest.raises(InvalidParameter, match="type_field: the facilities have no field 'x'"):
        run("population-exposure", ctx, zones=zones, type_field="x")
    bare = run("population-exposure", ctx, zones=zones, facilities=None)  # people only
    assert bare.features["facilities"].empty and bare.features["zones"]["people"].iloc[0] > 1e5
    far = {
        "features": feature_collection(gpd.GeoDataFrame(geometry=[shapely.box(130, 20, 131, 21)]))
    }
    with pytest.raises(InvalidParameter, match="zones: not lon/lat degrees meeting the service"):
        run("population-exposure", ctx, zones=far, facilities=None)
    # A typhoon's wind area may reach far beyond the service area: it is taken as it is.
    wide = shapely.box(116.5, 22.5, 121.0, 24.0)
    beyond = {"features": feature_collection(gpd.GeoDataFrame(geometry=[wide], crs=STORAGE_CRS))}
    shantou = run("population-exposure", ctx, zones=beyond, facilities=None).features["zones"]
    assert shantou["people"].iloc[0] > 1e6
