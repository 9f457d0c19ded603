"""A member limited to Tianhe (440106) sees the gate's restricted layer only inside it, on
every path; a member limited to Shenzhen (4403) sees none of it; the public layer is whole."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from layers.access.areas import read_area_union
from spatial.context import Context
from spatial.inputs import read_collection
from tests.access.fields_areas_helpers import as_caller, callers, names_inside_tianhe
from tests.gate_fixtures import PUBLIC, RESTRICTED, TABLE, catalog_of, gate_client
from tests.tiles.helpers import decode, tile_at

__all__ = ["callers", "gate_client"]  # the fixtures
TMS = "WebMercatorQuad"
COUNTY, ELSEWHERE, MEMBER = as_caller("county"), as_caller("elsewhere"), as_caller("member")
ITEMS = f"/collections/{RESTRICTED}/items"


def _names(client: TestClient, headers: dict[str, str], **params: str) -> tuple[set[str], int]:
    answer = client.get(ITEMS, params={"limit": "50", **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {f["properties"]["name"] for f in body["features"]}, body["numberMatched"]


def test_items_and_counts_are_clipped(callers: TestClient, sample_url: str) -> None:
    inside = names_inside_tianhe(callers, sample_url)
    everything, total = _names(callers, MEMBER)
    assert inside and inside < everything  # the points straddle Tianhe's border
    names, matched = _names(callers, COUNTY)
    assert names == inside and matched == len(inside)
    page, matched = _names(callers, COUNTY, limit="1")  # counted, not read off one page
    assert len(page) == 1 and matched == len(inside)
    assert _names(callers, ELSEWHERE) == (set(), 0)
    csv = callers.get(ITEMS, params={"f": "csv"}, headers=COUNTY).text.splitlines()
    assert len(csv) == 1 + len(inside)
    public = callers.get(f"/collections/{PUBLIC}/items", params={"limit": "50"}, headers=COUNTY)
    assert len(public.json()["features"]) == total  # a public layer is not clipped


def test_single_features_outside_are_not_found(callers: TestClient, sample_url: str) -> None:
    inside = names_inside_tianhe(callers, sample_url)
    features = callers.get(ITEMS, params={"limit": "50"}, headers=MEMBER).json()["features"]
    for feature in features:
        answer = callers.get(f"{ITEMS}/{feature['id']}", headers=COUNTY)
        expected = 200 if feature["properties"]["name"] in inside else 404
        assert answer.status_code == expected, feature


def _tile_names(client: TestClient, path: str, headers: dict[str, str]) -> set[str]:
    answer = client.get(path, headers=headers)
    if answer.status_code == 204:
        return set()
    assert answer.status_code == 200, answer.text
    return {
        f["properties"]["name"] for layer in decode(answer.content).values()
        for f in layer["features"]
    }  # fmt: skip


def test_tiles_across_the_border(callers: TestClient, sample_url: str) -> None:
    inside = names_inside_tianhe(callers, sample_url)
    row, col = tile_at(TMS, 10, 113.28, 23.13)  # holds every gate point, both sides
    for path in (
        f"/collections/{RESTRICTED}/tiles/{TMS}/10/{row}/{col}",
        f"/wmts/1.0.0/{RESTRICTED}/default/{TMS}/10/{row}/{col}.pbf",
        f"/tiles/{TMS}/10/{row}/{col}?collections={RESTRICTED}",
    ):
        everything = _tile_names(callers, path, MEMBER)
        assert inside < everything, path
        for _ in range(2):  # made, then cached under the county's own scope
            assert _tile_names(callers, path, COUNTY) == inside, path
        assert _tile_names(callers, path, ELSEWHERE) == set(), path
        assert _tile_names(callers, path, MEMBER) == everything, path  # caches never mix
    png = callers.get(f"/collections/{RESTRICTED}/map/tiles/{TMS}/10/{row}/{col}", headers=COUNTY)
    other = callers.get(f"/collections/{RESTRICTED}/map/tiles/{TMS}/10/{row}/{col}", headers=MEMBER)
    assert png.status_code == other.status_code == 200 and png.content != other.content
    assert png.headers["etag"] != other.headers["etag"]


def test_feature_info_outside_is_empty(callers: TestClient, sample_url: str) -> None:
    inside = names_inside_tianhe(callers, sample_url)
    z = 14
    with psycopg.connect(sample_url) as conn:
        points = conn.execute(
            f"SELECT name, ST_X(geom), ST_Y(geom) FROM onemap_data.{TABLE}"
        ).fetchall()
    from tiles import grids

    checked = {True: 0, False: 0}
    for name, lon, lat in points:
        tile = grids.get_tms(TMS).tile(lon, lat, z)
        bounds = grids.get_tms(TMS).xy_bounds(tile)
        x, y = grids.get_tms(TMS).xy(lon, lat)
        i = int((x - bounds.left) / (bounds.right - bounds.left) * 256)
        j = int((bounds.top - y) / (bounds.top - bounds.bottom) * 256)
        path = f"/wmts/1.0.0/{RESTRICTED}/default/{TMS}/{z}/{tile.y}/{tile.x}/{j}/{i}.json"
        member = {
            f["properties"]["name"] for f in callers.get(path, headers=MEMBER).json()["features"]
        }
        assert name in member
        county = {
            f["properties"]["name"] for f in callers.get(path, headers=COUNTY).json()["features"]
        }
        assert county == member & inside
        checked[name in inside] += 1
    assert checked[True] and checked[False]


def test_process_inputs_are_clipped(callers: TestClient, sample_url: str) -> None:
    """An analysis reading the layer for the county member reads only inside Tianhe."""
    import asyncio

    catalog = catalog_of(callers)
    admin = callers.app.state.onemap.settings.admin  # type: ignore[attr-defined]

    async def union() -> bytes:
        async with await psycopg.AsyncConnection.connect(sample_url) as conn:
            return await read_area_union(conn, catalog, admin, ("440106",))

    area = asyncio.run(union())
    with psycopg.connect(sample_url) as conn:
        ctx = Context(conn=conn, catalog=catalog, clips={RESTRICTED: area})
        frame = read_collection(ctx, RESTRICTED)
        whole = read_collection(Context(conn=conn, catalog=catalog), RESTRICTED)
    assert set(frame["name"]) == names_inside_tianhe(callers, sample_url) < set(whole["name"])
