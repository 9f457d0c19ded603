"""The access matrix (issue 13, "Done when"): every advertised endpoint × every access level
× every caller gives the status the rules give (``matrix_rules.expected_status``) and never a
byte of what the caller may not see — asked twice (the second time from the caches, with the
admin's ETag as a validator), after the admin has filled the tile cache under their scope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.access.matrix_cases import Filler, Generated, generate
from tests.access.matrix_checks import leaks, png_problems, structure_problems
from tests.access.matrix_rules import Case, clipped, expected_status
from tests.access.matrix_world import LAYERS, UNKNOWN, Who, World, world

__all__ = ["world"]  # the fixture
ADMIN_CALLER = "admin"


def _levels(world: World) -> dict[str, tuple[str, str | None]]:
    """Every published layer's (level, department), as the admin's listing states them."""
    admin = _who(world, ADMIN_CALLER)
    listing = world.client.get("/collections?limit=1000", headers=admin.headers).json()
    found: dict[str, tuple[str, str | None]] = {}
    for collection in listing["collections"]:
        layer = collection["onemap:layer"]
        department = (layer.get("department") or {}).get("id")
        found[collection["id"]] = (layer["accessLevel"], department)
    for layer_id, stated in LAYERS.items():
        assert found[layer_id] == stated, (layer_id, found[layer_id])
    return found


def _who(world: World, name: str) -> Who:
    return next(who for who in world.callers if who.name == name)


@pytest.fixture(scope="module")
def generated(world: World) -> Generated:
    admin = _who(world, ADMIN_CALLER).headers
    api = world.client.get("/api", headers=admin).json()
    capabilities = world.client.get("/wmts?SERVICE=WMTS&REQUEST=GetCapabilities", headers=admin)
    grid_ids = [g["id"] for g in world.client.get("/tileMatrixSets").json()["tileMatrixSets"]]
    processes = [p["id"] for p in world.client.get("/processes").json()["processes"]]
    outputs = world.client.get("/processes/buffer-zones").json()["outputs"]
    filler = Filler(world, grid_ids, processes, next(iter(outputs)))
    return generate(world, api, capabilities.text, filler)


def test_the_generator_classifies_every_endpoint(generated: Generated) -> None:
    assert not generated.problems, "endpoints the access matrix cannot cover:\n" + "\n".join(
        generated.problems
    )
    covered = {case.template for case in generated.cases}
    for template in (
        "/collections/{collectionId}/items/{featureId}",
        "/collections/{collectionId}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        "/jobs/{jobId}/results/{outputId}",
        "/wmts GetTile",
        "/wmts GetFeatureInfo",
        "/wmts REST tile image/png",
        "/wmts REST FeatureInfo application/json",
    ):
        assert template in covered, template


def test_every_get_endpoint_level_and_caller(world: World, generated: Generated) -> None:
    levels = _levels(world)
    admin = _who(world, ADMIN_CALLER)
    problems: list[str] = []
    answers: dict[tuple[str, str], httpx.Response] = {}
    for who in world.callers:  # the admin first: their tiles are cached before anyone asks
        for case in generated.cases:
            first = _ask(world, case, who)
            answers[(who.name, case.url)] = first
            validator = answers[(admin.name, case.url)].headers.get("etag")
            second = _ask(world, case, who, {"If-None-Match": validator} if validator else {})
            want = expected_status(case, who, levels)
            for label, answer in (("first", first), ("again", second)):
                problems += _problems(case, who, answer, want, levels, label, first, validator)
    for who in world.callers:
        for case in generated.cases:
            if case.kind == "png":
                answer = answers[(who.name, case.url)]
                edition = _public_edition(case, answers, levels)
                empty = bool(case.layers) and _county_tile_hidden(case, who, levels)
                for problem in png_problems(case, who, answer, edition, empty):
                    problems.append(f"{who.name} GET {case.url}: {problem}")
    counted = len(generated.cases) * len(world.callers)
    assert not problems, f"{len(problems)} of {counted} requests wrong:\n" + "\n".join(
        problems[:25]
    )


def _ask(world: World, case: Case, who: Who, extra: dict[str, str] | None = None) -> httpx.Response:
    return world.client.request(case.method, case.url, headers=who.headers | (extra or {}))


def _problems(
    case: Case,
    who: Who,
    answer: httpx.Response,
    want: int,
    levels: dict[str, tuple[str, str | None]],
    label: str,
    first: httpx.Response,
    validator: str | None,
) -> list[str]:
    where = f"{who.name} GET {case.url} ({case.template}, {label})"
    status = answer.status_code
    if status == 304:  # only the caller's own validator may match
        if label == "again" and first.headers.get("etag") == validator:
            return []
        return [f"{where}: 304 for another scope's ETag"]
    found = []
    acceptable = {want, 204} if want == 200 and case.kind == "mvt" else {want}
    if status not in acceptable:
        found.append(f"{where}: status {status}, expected {want}: {answer.text[:160]!r}")
    if status >= 500:
        return found
    leaked = leaks(case, who, answer, levels)
    if leaked:
        found.append(f"{where}: leaks {leaked[:4]}")
    found += [f"{where}: {p}" for p in structure_problems(case, who, answer, levels)]
    return found


def _public_edition(
    case: Case, answers: dict[tuple[str, str], httpx.Response], levels: dict[str, Any]
) -> bytes | None:
    """The anonymous caller's tile of a public layer (None for other layers)."""
    if not case.layers or any(levels.get(i, ("",))[0] != "public" for i in case.layers):
        return None
    anonymous = answers[("anonymous", case.url)]
    return anonymous.content if anonymous.status_code == 200 else None


def _county_tile_hidden(case: Case, who: Who, levels: dict[str, tuple[str, str | None]]) -> bool:
    """A map tile of county 440106 only, for a caller clipped to another area."""
    layer_id = case.layers[0]
    return "/map/tiles/" in case.url and layer_id != UNKNOWN and clipped(who, levels[layer_id][0])
