"""The one gate: a layer a caller may not see does not exist for them, on every path.

An internal and a restricted layer are answered to anonymous callers exactly as an unknown
id is (the same status, the same body but for the id), and absent from every listing; the
holder of the publisher token sees them, and its answers are private. Cache isolation and
the fast paths are in ``test_gate_cache.py``; processes and jobs in ``test_gate_jobs.py``.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from layers.access.caller import ANONYMOUS, Caller
from layers.access.rules import cache_scope, may_read, readable_fields
from layers.catalog import Layer
from ogc.gate.caller import LOCAL_ADMIN, PUBLISHER
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.gate_fixtures import DEPARTMENT, HIDDEN, PUBLIC, catalog_of, gate_client
from tests.tiles.helpers import tile_at
from tiles import grids

__all__ = ["gate_client"]  # the fixture
UNKNOWN = "gate-nosuch"
WMTS_NS = {"wmts": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}


def first_fid(client: TestClient) -> int:
    body = client.get(f"/collections/{PUBLIC}/items", params={"limit": 1}).json()
    return int(body["features"][0]["id"])


def layer_paths(layer_id: str, fid: int) -> list[str]:
    """Every path that names one layer: collection, items, features, queryables, tilesets,
    tiles of every grid (vector, map, dataset), TileJSON, style, WMTS in KVP and REST."""
    base = f"/collections/{layer_id}"
    paths = [
        base,
        f"{base}?f=html",
        f"{base}/items",
        f"{base}/items?f=html",
        f"{base}/items?f=csv",
        f"{base}/items?f=jsonseq",
        f"{base}/items/{fid}",
        f"{base}/items/{fid}?f=html",
        f"{base}/queryables",
        f"{base}/tiles",
        f"{base}/map/tiles",
        f"{base}/tiles/WebMercatorQuad/tilejson.json",
        f"{base}/style.json",
        f"/tiles?collections={layer_id}",
    ]
    for tms in grids.list_tms():
        row, col = tile_at(tms, 8)
        tile = f"{tms}/8/{row}/{col}"
        paths += [
            f"{base}/tiles/{tms}",
            f"{base}/map/tiles/{tms}",
            f"{base}/tiles/{tile}",
            f"{base}/map/tiles/{tile}",
            f"/tiles/{tms}?collections={layer_id}",
            f"/tiles/{tile}?collections={layer_id}",
            f"/wmts/1.0.0/{layer_id}/default/{tile}.png",
            f"/wmts/1.0.0/{layer_id}/default/{tile}.pbf",
            f"/wmts/1.0.0/{layer_id}/default/{tile}/128/128.json",
            f"/wmts/1.0.0/{layer_id}/default/{tile}/128/128.html",
            _kvp("GetTile", layer_id, tms, row, col, FORMAT="image/png"),
            _kvp(
                "GetFeatureInfo",
                layer_id,
                tms,
                row,
                col,
                FORMAT="image/png",
                I="128",
                J="128",
                INFOFORMAT="application/json",
            ),
        ]
    return paths


def _kvp(request: str, layer_id: str, tms: str, row: int, col: int, **extra: str) -> str:
    params = {
        "SERVICE": "WMTS",
        "VERSION": "1.0.0",
        "REQUEST": request,
        "LAYER": layer_id,
        "STYLE": "default",
        "TILEMATRIXSET": tms,
        "TILEMATRIX": "8",
        "TILEROW": str(row),
        "TILECOL": str(col),
        **extra,
    }
    return "/wmts?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("layer_id", HIDDEN)
def test_a_hidden_layer_is_answered_as_an_unknown_id_on_every_path(
    gate_client: TestClient, layer_id: str
) -> None:
    fid = first_fid(gate_client)
    for path, unknown_path in zip(
        layer_paths(layer_id, fid), layer_paths(UNKNOWN, fid), strict=True
    ):
        hidden = gate_client.get(path)
        unknown = gate_client.get(unknown_path)
        assert hidden.status_code == unknown.status_code, path
        assert hidden.status_code in (400, 404), path  # WMTS: an ExceptionReport, as unknown
        shown = hidden.text.replace(layer_id, UNKNOWN)
        assert shown == unknown.text, path  # nothing says the layer is there
        assert "restricted" not in shown and "internal" not in shown, path


@pytest.mark.parametrize("layer_id", HIDDEN)
def test_the_publisher_token_holder_sees_it_everywhere_privately(
    gate_client: TestClient, layer_id: str
) -> None:
    for path in layer_paths(layer_id, first_fid(gate_client)):
        answer = gate_client.get(path, headers=PUBLISHER_HEADERS)
        assert answer.status_code in (200, 204), (path, answer.text)
        assert answer.headers["cache-control"].startswith("private"), path
        assert "Authorization" in answer.headers["vary"], path


def test_public_answers_stay_public(gate_client: TestClient) -> None:
    row, col = tile_at("WebMercatorQuad", 8)
    tile = gate_client.get(f"/collections/{PUBLIC}/tiles/WebMercatorQuad/8/{row}/{col}")
    assert tile.status_code == 200
    assert tile.headers["cache-control"].startswith("public")
    assert "Authorization" not in tile.headers.get("vary", "")
    items = gate_client.get(f"/collections/{PUBLIC}/items")
    assert "cache-control" not in items.headers
    assert "Authorization" not in items.headers["vary"]


def _listed_collections(client: TestClient, headers: dict[str, str]) -> set[str]:
    body = client.get("/collections", headers=headers).json()
    return {c["id"] for c in body["collections"]}


def _wmts_layers(client: TestClient, path: str, headers: dict[str, str]) -> set[str]:
    root = ET.fromstring(client.get(path, headers=headers).content)
    found = root.findall("./wmts:Contents/wmts:Layer/ows:Identifier", WMTS_NS)
    return {element.text or "" for element in found}


def _api_items_paths(client: TestClient, headers: dict[str, str]) -> set[str]:
    paths = client.get("/api", headers=headers).json()["paths"]
    return {p.split("/")[2] for p in paths if p.endswith("/items") and "{" not in p}


def _dataset_layers(client: TestClient, headers: dict[str, str]) -> set[str]:
    body = client.get("/tiles/WebMercatorQuad", headers=headers).json()
    return {layer["id"] for layer in body["layers"]}


LISTINGS = {
    "collections": _listed_collections,
    "collections html": lambda c, h: {
        name for name in (*HIDDEN, PUBLIC) if name in c.get("/collections?f=html", headers=h).text
    },
    "wmts kvp": lambda c, h: _wmts_layers(c, "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities", h),
    "wmts rest": lambda c, h: _wmts_layers(c, "/wmts/1.0.0/WMTSCapabilities.xml", h),
    "openapi": _api_items_paths,
    "dataset tileset": _dataset_layers,
}


@pytest.mark.parametrize("listing", LISTINGS)
def test_listings_show_a_caller_only_what_they_see(gate_client: TestClient, listing: str) -> None:
    anonymous = LISTINGS[listing](gate_client, {})
    publisher = LISTINGS[listing](gate_client, PUBLISHER_HEADERS)
    assert PUBLIC in anonymous and PUBLIC in publisher
    assert not anonymous & set(HIDDEN)
    assert set(HIDDEN) <= publisher


def test_the_access_rule(gate_client: TestClient) -> None:
    public = catalog_of(gate_client).layers[PUBLIC]
    internal = dataclasses.replace(public, access_level="internal")
    restricted = dataclasses.replace(public, access_level="restricted", department_id=DEPARTMENT)
    odd = dataclasses.replace(public, access_level="secret")
    government = Caller(kind="user", subject="u", roles=frozenset({"government"}))
    member = Caller(
        kind="user", subject="m", departments=frozenset({DEPARTMENT}), roles=frozenset({"member"})
    )
    outsider = dataclasses.replace(member, departments=frozenset({"elsewhere"}))
    expected: dict[Caller, tuple[bool, bool, bool, bool]] = {
        ANONYMOUS: (True, False, False, False),
        government: (True, True, False, False),
        member: (True, True, True, False),
        outsider: (True, True, False, False),
        PUBLISHER: (True, True, True, True),
        LOCAL_ADMIN: (True, True, True, True),
    }
    for caller, allowed in expected.items():
        layers: tuple[Layer, ...] = (public, internal, restricted, odd)
        assert tuple(may_read(layer, caller) for layer in layers) == allowed, caller


def test_fields_marked_internal_are_not_readable_below_that_level(
    gate_client: TestClient,
) -> None:
    public = catalog_of(gate_client).layers[PUBLIC]
    assert [f.name for f in readable_fields(public, ANONYMOUS)] == ["name"]
    assert [f.name for f in readable_fields(public, PUBLISHER)] == ["name", "secret"]
    unmarked = dataclasses.replace(public, metadata={})
    assert readable_fields(unmarked, ANONYMOUS) == unmarked.fields
    # Who sees the public's view of a layer shares the public cache scope; others do not.
    assert cache_scope(public, ANONYMOUS) == "public"
    assert cache_scope(unmarked, PUBLISHER) == "public"
    assert cache_scope(public, PUBLISHER) == PUBLISHER.scope != "public"
    internal = dataclasses.replace(unmarked, access_level="internal")
    assert cache_scope(internal, PUBLISHER) == PUBLISHER.scope


def test_only_the_gate_reads_the_access_level() -> None:
    """``grep access_level ogc/``: the gate's room and the collection document's field."""
    root = Path(__file__).resolve().parents[1] / "ogc"
    readers = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "access_level" in path.read_text(encoding="utf-8")
    }
    assert readers == {"routers/collections.py"}  # "accessLevel": layer.access_level
