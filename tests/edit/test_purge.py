"""An edit deletes exactly the cached tiles it touches, on every grid and format, and the
next request shows it (ADR 0013, decision 8); a tile it did not touch stays cached, with
its ETag. The cache is probed on disk (files present or gone), never by timing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.edit.conftest import BUILDINGS, feature, write_headers
from tests.edit.test_create_replace_delete import create
from tests.helpers.wait import wait_for
from tests.tiles.helpers import decode, opaque_pixels, png_pixels, tile_at

Z = 14
GRIDS = ("WebMercatorQuad", "WorldCRS84Quad", "CGCS2000Quad", "TiandituCGCS2000")
WMTS_GRIDS = ("WebMercatorQuad", "CGCS2000Quad")
FAR = (113.3015, 23.10015)  # "building 1" of the fixture: nowhere near the edits


def square(lon: float, lat: float, size: float = 0.0004) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def tile_paths(tms: str, lon: float, lat: float) -> dict[str, str]:
    """The vector, map and WMTS tile holding a point, by format."""
    row, col = tile_at(tms, Z, lon, lat)
    paths = {
        "mvt": f"/collections/{BUILDINGS}/tiles/{tms}/{Z}/{row}/{col}",
        "png": f"/collections/{BUILDINGS}/map/tiles/{tms}/{Z}/{row}/{col}",
    }
    if tms in WMTS_GRIDS:
        paths["wmts"] = f"/wmts/1.0.0/{BUILDINGS}/default/{tms}/{Z}/{row}/{col}.png"
    return paths


def cached_files(client: TestClient, tms: str, lon: float, lat: float) -> list[Path]:
    """The files of the layer's tile cache holding the tile at a point on ``tms``."""
    row, col = tile_at(tms, Z, lon, lat)
    root: Path = client.app.state.onemap.tile_producer.cache.root  # type: ignore[attr-defined]
    return sorted(root.glob(f"{BUILDINGS}/v*/*/*/{tms}/{Z}/{row}/{col}.*"))


def plant_probes(client: TestClient, place: tuple[float, float]) -> list[Path]:
    """Beside each cached tile at ``place`` (every grid and format), a file the cache holds
    as a property-selection variant of the same tile: a purge of the tile deletes it, and
    nothing ever requests or re-makes it, so it tells whether the tile was purged."""
    probes = []
    for tms in GRIDS:
        for path in cached_files(client, tms, *place):
            probe = path.with_name(f"{path.stem}-probe{path.suffix}")
            probe.write_bytes(b"probe")
            probes.append(probe)
    assert probes
    return probes


def cached_everywhere(client: TestClient, place: tuple[float, float]) -> list[Path]:
    return [path for tms in GRIDS for path in cached_files(client, tms, *place)]


def names_at(client: TestClient, path: str, fid: int) -> list[Any]:
    answer = client.get(path)
    assert answer.status_code in (200, 204), answer.text
    if answer.status_code == 204:
        return []
    layer = decode(answer.content).get(BUILDINGS, {"features": []})
    return [f["properties"].get("name") for f in layer["features"] if f.get("id") == fid]


def drawn(client: TestClient, path: str) -> int:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return opaque_pixels(png_pixels(answer.content))


def test_an_edit_purges_only_its_tiles_and_the_next_request_shows_it(
    editing: TestClient,
) -> None:
    old_place, new_place = (113.6001, 23.3001), (113.7001, 23.3501)
    url = create(editing, feature("before the move", square(*old_place)))
    fid = int(url.rsplit("/", 1)[1])
    # A neighbour in the new place's tile, so the tileset's limits (the extent) hold it.
    create(editing, feature("neighbour", square(new_place[0] + 0.001, new_place[1], 0.0001)))
    far_tags: dict[str, str] = {}
    old_tags: dict[str, str] = {}
    new_pngs: dict[str, bytes] = {}
    for tms in GRIDS:
        old, new, far = (tile_paths(tms, *p) for p in (old_place, new_place, FAR))
        assert names_at(editing, old["mvt"], fid) == ["before the move"]
        assert names_at(editing, new["mvt"], fid) == []
        old_tags |= {path: editing.get(path).headers["ETag"] for path in old.values()}
        new_pngs[tms] = editing.get(new["png"]).content
        far_tags |= {path: editing.get(path).headers["ETag"] for path in far.values()}
        assert cached_files(editing, tms, *old_place) and cached_files(editing, tms, *new_place)
    near = plant_probes(editing, old_place) + plant_probes(editing, new_place)
    far = plant_probes(editing, FAR)
    remade = cached_everywhere(editing, old_place) + cached_everywhere(editing, new_place)

    moved = feature("after the move", square(*new_place))
    headers = write_headers(**{"If-Match": editing.get(url).headers["ETag"]})
    assert editing.put(url, json=moved, headers=headers).status_code == 204

    # Purged before the writer answered (every grid, format and variant); the far tiles
    # kept; the purged default tiles made again in the background.
    assert [probe for probe in near if probe.exists()] == []
    assert all(probe.read_bytes() == b"probe" for probe in far)
    wait_for(
        lambda: all(path.exists() for path in remade),
        "the purged tiles were not made again in the background",
        timeout=60,  # some dozens of tile queries on a busy machine
    )
    for tms in GRIDS:
        old, new = tile_paths(tms, *old_place), tile_paths(tms, *new_place)
        assert names_at(editing, old["mvt"], fid) == []
        assert names_at(editing, new["mvt"], fid) == ["after the move"]
        assert editing.get(new["png"]).content != new_pngs[tms]  # drawn with the feature
        assert drawn(editing, old["png"]) == 0
        if "wmts" in new:
            assert editing.get(new["wmts"]).content == editing.get(new["png"]).content
            assert drawn(editing, old["wmts"]) == 0
        for path in old.values():  # re-made: the old bytes' tag is no longer a 304
            answer = editing.get(path, headers={"If-None-Match": old_tags[path]})
            assert answer.status_code in (200, 204), path
            assert answer.headers["ETag"] != old_tags[path]
    for path, tag in far_tags.items():  # untouched: still the same bytes, still a 304
        assert editing.get(path, headers={"If-None-Match": tag}).status_code == 304, path


def test_hot_tiles_of_an_edited_feature_are_dropped_and_others_kept(
    editing: TestClient,
) -> None:
    """The fast layer's memory: the touched tile is forgotten, a far one still served."""
    place = (113.6501, 23.2001)
    url = create(editing, feature("hot before", square(*place)))
    fid = int(url.rsplit("/", 1)[1])
    near, far = tile_paths("WebMercatorQuad", *place)["mvt"], tile_paths("WebMercatorQuad", *FAR)
    for _ in range(2):  # the second answer comes from memory
        assert names_at(editing, near, fid) == ["hot before"]
        editing.get(far["mvt"])
    fast = editing.app.fast_layer  # type: ignore[attr-defined]
    remembered = {path for path, _ in fast._hot._tiles}
    assert {near, far["mvt"]} <= remembered
    headers = write_headers(**{"If-Match": editing.get(url).headers["ETag"]})
    body = feature("hot after", square(*place))
    assert editing.put(url, json=body, headers=headers).status_code == 204
    remembered = {path for path, _ in fast._hot._tiles}
    assert near not in remembered and far["mvt"] in remembered
    assert names_at(editing, near, fid) == ["hot after"]


@pytest.mark.parametrize("tms", ["WebMercatorQuad", "CGCS2000Quad"])
def test_a_delete_purges_the_tiles_of_the_old_geometry(editing: TestClient, tms: str) -> None:
    place = (113.5501, 23.2501) if tms == "WebMercatorQuad" else (113.5801, 23.2801)
    url = create(editing, feature("to delete", square(*place)))
    fid = int(url.rsplit("/", 1)[1])
    path = tile_paths(tms, *place)["mvt"]
    assert names_at(editing, path, fid) == ["to delete"]
    probes = plant_probes(editing, place)
    headers = write_headers(**{"If-Match": editing.get(url).headers["ETag"]})
    assert editing.delete(url, headers=headers).status_code == 204
    assert [probe for probe in probes if probe.exists()] == []
    assert names_at(editing, path, fid) == []
