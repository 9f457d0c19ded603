"""Change detection between two versions of one layer (issue 17, analysis 5): the transition
matrix against geopandas.overlay of the two versions with pyproj.Geod areas, and what was
added inside a protected zone against shapely differences."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from psycopg import sql
from pyproj import Geod

from layers.errors import InvalidParameter
from spatial.analyses import DEFAULT_REGISTRY
from spatial.change import ABSENT
from spatial.context import Context
from spatial.inputs import read_collection
from spatial.versions import VersionChoice, read_version
from tests.access.ownership_fixtures import wait_for_layer
from tests.conftest import PUBLISHER
from tests.spatial.conftest import publish_frame

LAYER = "test-change-landuse"
BOX = (113.25, 23.35, 113.65, 23.65)  # inland, north of Guangzhou: counties cover it all
GEOD = Geod(ellps="GRS80")
TOLERANCE = 1e-3  # 0.1 %, the brief's bound for the matrix against geopandas.overlay
EXACT = 1e-6  # sums against Geod: the densified equal-area areas are within ~1e-7 of it


def geod_km2(geom: shapely.Geometry) -> float:
    area, _ = GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))
    return abs(area) / 1e6


def _versions(sample_url: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """synthetic-landuse parcels meeting BOX as version 1. Version 2 stays a partition: every
    third parcel changes class, parcel 5's east half another class, parcel 2 is gone, the
    easternmost parcel grows east and a new parcel appears east of it all."""
    with Context.open(sample_url) as ctx:
        parcels = read_collection(ctx, "synthetic-landuse", within=shapely.box(*BOX))
    a = parcels[["landuse", "geometry"]].reset_index(drop=True)
    b = a.copy()
    classes = sorted(a["landuse"].unique())
    other = {c: classes[(i + 1) % len(classes)] for i, c in enumerate(classes)}
    b.loc[::3, "landuse"] = b.loc[::3, "landuse"].map(other)
    x0, y0, x1, y1 = b.loc[5, "geometry"].bounds
    west, east = shapely.box(x0, y0, (x0 + x1) / 2, y1), shapely.box((x0 + x1) / 2, y0, x1, y1)
    half = {"landuse": other[b.loc[5, "landuse"]], "geometry": b.loc[5, "geometry"] & east}
    b.loc[5, "geometry"] = b.loc[5, "geometry"] & west
    maxx = a.total_bounds[2]
    edge = int(np.argmax(a.geometry.bounds["maxx"].to_numpy()))
    _, ey0, _, ey1 = a.loc[edge, "geometry"].bounds
    b.loc[edge, "geometry"] = a.loc[edge, "geometry"] | shapely.box(maxx, ey0, maxx + 0.02, ey1)
    new = {"landuse": "built-up", "geometry": shapely.box(maxx + 0.03, ey0, maxx + 0.06, ey1)}
    rows = [*b.drop(index=2).to_dict("records"), half, new]
    return a, gpd.GeoDataFrame(rows, geometry="geometry", crs=4490)


@pytest.fixture(scope="module")
def versions(sample_url: str, client: TestClient) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    a, b = _versions(sample_url)
    publish_frame(sample_url, LAYER, a)
    publish_frame(sample_url, LAYER, b)
    wait_for_layer(client, LAYER, version=2)
    return a, b


def _reference(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> dict[tuple[str, str], float]:
    pieces = gpd.overlay(a, b, how="intersection", keep_geom_type=True)
    expected: dict[tuple[str, str], float] = {}
    for was, now, geom in zip(
        pieces["landuse_1"], pieces["landuse_2"], pieces.geometry, strict=True
    ):
        expected[(was, now)] = expected.get((was, now), 0.0) + geod_km2(geom)
    return expected


def _run(ctx: Context, process: str, inputs: dict[str, Any]) -> Any:
    return DEFAULT_REGISTRY.get(process).execute(inputs, ctx)


def test_transition_matrix_matches_overlay_and_geod(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], ctx: Context
) -> None:
    a, b = versions
    inputs = {"layer": LAYER, "before": {"version": 1}, "after": {"version": 2}}
    result = _run(ctx, "transition-matrix", {**inputs, "class_field": "landuse"})
    table = result.values["matrix"]["all"]
    for (was, now), km2 in _reference(a, b).items():
        assert table[was][now] == pytest.approx(km2, rel=TOLERANCE), (was, now)
    totals_a = a.groupby("landuse").geometry.apply(lambda g: sum(map(geod_km2, g)))
    for was, total in totals_a.items():  # each row sums to version A's class total
        assert sum(table[was].values()) == pytest.approx(total, rel=EXACT)
    totals_b = b.groupby("landuse").geometry.apply(lambda g: sum(map(geod_km2, g)))
    for now, total in totals_b.items():  # ... and each column to version B's
        column = sum(row.get(now, 0.0) for row in table.values())
        assert column == pytest.approx(total, rel=EXACT)
    assert table[ABSENT]["built-up"] >= geod_km2(b.geometry.iloc[-1]) * (1 - TOLERANCE)
    moved = table[a.loc[2, "landuse"]][ABSENT]  # parcel 2 is gone
    assert moved >= geod_km2(a.loc[2, "geometry"]) * (1 - TOLERANCE)
    assert result.lineage == [{"layer": LAYER, "version": 1}, {"layer": LAYER, "version": 2}]
    assert result.values["totals"]["before"]["version"] == 1


def test_per_county_matrices_add_up_to_the_whole(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], ctx: Context
) -> None:
    a, b = versions
    units = {"collection": "gd-counties"}
    inputs = {"layer": LAYER, "before": {"version": 1}, "after": {"version": 2}}
    result = _run(ctx, "transition-matrix", {**inputs, "class_field": "landuse", "units": units})
    rows = gpd.pd.DataFrame(result.values["transitions"])
    assert rows["unit"].nunique() >= 2  # the box spans counties
    summed = rows.groupby(["from_class", "to_class"])["area_km2"].sum()
    for (was, now), km2 in _reference(a, b).items():
        assert summed[(was, now)] == pytest.approx(km2, rel=TOLERANCE)


def test_versions_by_datetime_and_missing_ones(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], ctx: Context, sample_url: str
) -> None:
    with psycopg.connect(sample_url) as conn:
        row = conn.execute(
            "SELECT created_at FROM onemap.layer_versions WHERE layer_id = %s AND version = 1",
            (LAYER,),
        ).fetchone()
    assert row is not None
    inputs = {"layer": LAYER, "class_field": "landuse"}
    by_time = {"before": {"datetime": row[0].isoformat()}, "after": {"version": 2}}
    result = _run(ctx, "transition-matrix", {**inputs, **by_time})
    assert result.values["totals"]["before"]["version"] == 1
    with pytest.raises(
        InvalidParameter,
        match=r"before: layer .test-change-landuse. has no version 9 \(it has versions 1–\d\)",
    ):
        _run(
            ctx, "transition-matrix", {**inputs, "before": {"version": 9}, "after": {"version": 2}}
        )


def test_new_and_grown_parts_inside_a_protected_zone(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], ctx: Context
) -> None:
    a, b = versions
    _, miny, maxx, maxy = a.total_bounds
    zone = shapely.box(maxx - 0.2, miny, maxx + 0.1, maxy)
    zones = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(zone)}
    ]}  # fmt: skip
    inputs = {"layer": LAYER, "before": {"version": 1}, "after": {"version": 2}}
    result = _run(ctx, "change-in-protected-zones", {**inputs, "zones": {"features": zones}})
    added = result.features["added"]
    union_a = shapely.union_all(a.geometry.values)
    expected = {}
    for i, geom in enumerate(b.geometry):
        part = shapely.intersection(shapely.difference(geom, union_a), zone)
        if geod_km2(part) > 1e-6:
            expected[i] = geod_km2(part)
    found = added[added["area_km2"] > 1e-6]
    assert len(expected) == 2 and len(found) == 2  # the grown parcel and the new one
    assert sorted(found["area_km2"]) == pytest.approx(sorted(expected.values()), rel=TOLERANCE)
    assert sorted(found["change"]) == ["grown", "new"]


def test_the_processes_answer_over_http(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], client: TestClient
) -> None:
    body = {"inputs": {"layer": LAYER, "class_field": "landuse",
                       "before": {"version": 1}, "after": {"version": 2}}}  # fmt: skip
    answer = client.post("/processes/transition-matrix/execution", json=body)
    assert answer.status_code == 200, answer.text
    body["inputs"]["class_field"] = "nope"
    answer = client.post("/processes/transition-matrix/execution", json=body)
    assert answer.status_code == 400 and "no field 'nope'" in answer.text
    body["inputs"]["before"] = {"version": 1, "datetime": "2026-01-01T00:00:00Z"}
    answer = client.post("/processes/transition-matrix/execution", json=body)
    assert answer.status_code == 400 and "exactly one of 'version' or 'datetime'" in answer.text


def test_a_version_edited_later_reads_as_it_was(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], client: TestClient, sample_url: str
) -> None:
    """Edits change version 2's table in place (versions 3 and 4 here, one per statement):
    version 2 still reads as published, each later one with its edits."""
    opened = client.put(f"/collections/{LAYER}/editing", json={"editable": True}, headers=PUBLISHER)
    assert opened.status_code == 200, opened.text
    with psycopg.connect(sample_url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT table_name FROM onemap.layer_versions WHERE layer_id = %s AND version = 2",
            (LAYER,),
        ).fetchone()
        assert found is not None
        table = sql.Identifier("onemap_data", found[0])
        fids = [
            r[0] for r in conn.execute(sql.SQL("SELECT fid FROM {} ORDER BY fid").format(table))
        ]
        conn.execute(
            sql.SQL("UPDATE {} SET landuse = 'quarry' WHERE fid = %s").format(table), [fids[0]]
        )
        conn.execute(sql.SQL("DELETE FROM {} WHERE fid = %s").format(table), [fids[1]])
    with Context.open(sample_url) as ctx:
        frames = [read_version(ctx, LAYER, VersionChoice(version=v), "landuse") for v in (2, 3, 4)]
    v2, v3, v4 = (dict(zip(f["fid"], f["value"], strict=True)) for f in frames)
    assert len(v2) == len(fids) and v2[fids[0]] != "quarry"
    assert v3[fids[0]] == "quarry" and fids[1] in v3
    assert v4[fids[0]] == "quarry" and fids[1] not in v4 and len(v4) == len(fids) - 1


def test_an_area_limited_caller_reads_versions_inside_their_areas(
    versions: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], ctx: Context
) -> None:
    a, _ = versions
    area = shapely.box(113.30, 23.40, 113.45, 23.50)
    ctx.clips = {LAYER: shapely.to_wkb(shapely.set_srid(area, 4490), include_srid=True)}
    seen = read_version(ctx, LAYER, VersionChoice(version=1), "landuse")
    assert len(seen) == int(shapely.intersects(a.geometry.values, area).sum()) < len(a)
    ctx.catalog = type(ctx.catalog)(layers={})  # a caller who may not see the layer at all
    with pytest.raises(InvalidParameter, match="does not exist"):
        read_version(ctx, LAYER, VersionChoice(version=1))
