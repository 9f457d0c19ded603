"""The access matrix (issue 13, "Done when"): every advertised endpoint × every access level
× every caller gives the status the rules give (``matrix_rules.expected_status``) and never a
byte of what the caller may not see — asked twice (the second time from the caches, with the
admin's ETag as a validator), after the admin has filled the tile cache under their scope,
and once with HEAD (the GET's status and headers, no body). Key holders ask both ways, with
``X-OneMap-Key`` and with ``tk=`` (whose links must keep the key); a hidden layer's answers,
GET and HEAD, equal the unknown id's; the app is the one ``onemap serve`` runs, fast layer
in front (``matrix_fast``)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from tests.access.matrix_cases import Filler, Generated, generate
from tests.access.matrix_checks import (
    Answers,
    leaks,
    matrix_png_problems,
    structure_problems,
    unkeyed_links,
)
from tests.access.matrix_fast import FastLayer, public_view
from tests.access.matrix_heads import head_problems, hidden_ids, twin_problems, unknown_twin
from tests.access.matrix_rules import Case, expected_status, expected_write_status
from tests.access.matrix_subscriptions import subscription_write_problems
from tests.access.matrix_world import (
    DEPT_A,
    LAYERS,
    PLACES,
    PUBLIC,
    SECRET_FIELD,
    UNKNOWN,
    Who,
    World,
    buffer_request,
    name_marker,
    world,
)
from tests.helpers.headers import comparable

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
    fast = FastLayer(world, generated.cases)
    started = time.monotonic()
    problems: list[str] = []
    answers: Answers = {}
    heads: Answers = {}
    for who in world.callers:  # the admin first: their tiles are cached before anyone asks
        if who.refused or who.over_quota:
            problems += [f"before {who.name}: {p}" for p in fast.unready()]
        if public_view(who):  # the fast layer must answer them (header and tk= alike)
            fast.forget()
        for case in generated.cases:
            first = _ask(world, case.url, who)
            answers[(who.name, case.url)] = first
            validator = answers[(admin.name, case.url)].headers.get("etag")
            second = _ask(world, case.url, who, {"If-None-Match": validator} if validator else {})
            head = _ask(world, case.url, who, method="HEAD")
            heads[(who.name, case.url)] = head
            want = expected_status(case, who, levels)
            for label, answer in (("first", first), ("again", second)):
                asked = (label, first, validator)
                problems += _problems(world, case, who, answer, want, levels, asked)
            problems += [f"{who.name} HEAD {case.url}: {p}" for p in head_problems(first, head)]
        if public_view(who):
            problems += [f"after {who.name}: {p}" for p in fast.unready()]
    problems += matrix_png_problems(world.callers, generated.cases, answers, levels)
    problems += _hidden_problems(world, generated.cases, levels, (answers, heads), started)
    problems += fast.problems(world)
    problems += _keyed_listings(world, answers)
    counted = len(generated.cases) * len(world.callers)
    assert not problems, f"{len(problems)} problems in {counted} case × caller pairs:\n" + (
        "\n".join(problems[:25])
    )


def _ask(
    world: World, url: str, who: Who, extra: dict[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    return world.client.request(method, who.at(url), headers=who.headers | (extra or {}))


def _problems(
    world: World,
    case: Case,
    who: Who,
    answer: httpx.Response,
    want: int,
    levels: dict[str, tuple[str, str | None]],
    asked: tuple[str, httpx.Response, str | None],
) -> list[str]:
    """``answer`` is the first or again (``label``) of ``who``'s GETs of ``case``, the
    second with the admin's ETag (``validator``)."""
    label, first, validator = asked
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
    if status >= 500 or _same_as_first(label, first, answer):
        return found  # the same bytes and headers as the first answer: checked there
    leaked = leaks(case, who, answer, levels)
    if leaked:
        found.append(f"{where}: leaks {leaked[:4]}")
    found += [f"{where}: {p}" for p in structure_problems(case, who, answer, levels)]
    base = str(world.client.base_url)
    found += [f"{where}: a link lost the key: {u}" for u in unkeyed_links(who, answer, base)]
    return found


def _same_as_first(label: str, first: httpx.Response, answer: httpx.Response) -> bool:
    if label == "first" or answer.status_code != first.status_code:
        return False
    return comparable(answer) == comparable(first) and answer.content == first.content


def _hidden_problems(
    world: World,
    cases: list[Case],
    levels: dict[str, tuple[str, str | None]],
    asked: tuple[Answers, Answers],
    started: float,
) -> list[str]:
    """Each request naming a layer its caller may not see, GET and HEAD (``asked``), against
    the same caller's request of the unknown id (asked here when the matrix did not)."""
    answers, heads = asked
    found = []
    for who in world.callers:
        for case in cases:
            hidden = hidden_ids(case, who, levels)
            if not hidden:
                continue
            twin = (who.name, unknown_twin(case, hidden))
            if twin not in answers:
                answers[twin] = _ask(world, twin[1], who)
                heads[twin] = _ask(world, twin[1], who, method="HEAD")
            mine = (answers[(who.name, case.url)], heads[(who.name, case.url)])
            twins = (answers[twin], heads[twin])
            apart_s = time.monotonic() - started  # the most these answers can be apart
            for problem in twin_problems(hidden, mine, twins, apart_s):
                found.append(f"{who.name} {case.url} vs {twin[1]}: {problem}")
    return found


def _keyed_listings(world: World, answers: Answers) -> list[str]:
    """The link checks are not vacuous: the collections listing of every caller sending
    ``tk=`` and granted features holds links, and they carry the key."""
    found = []
    for who in world.callers:
        if who.tk is None or who.over_quota:
            continue
        listing = answers[(who.name, "/collections?f=json")]
        if f"tk={who.tk}" not in listing.text:
            found.append(f"{who.name}: no link of /collections carries the key")
    return found


WRITE_RULES = {  # every write the OpenAPI document lists, and the test that asks it
    "POST /ingest": "test_writes_by_every_caller",
    "POST /processes/{processId}/execution": "test_writes_by_every_caller",
    "PATCH /admin/layers/{collectionId}": "test_writes_by_every_caller",
    "POST /admin/keys": "test_writes_by_every_caller",
    "DELETE /admin/keys/{keyId}": "test_writes_by_every_caller",
    "DELETE /jobs/{jobId}": "test_writes_by_every_caller",
    "POST /admin/layers/{collectionId}/rollback": "test_layer_removals_are_refused",
    "DELETE /admin/layers/{collectionId}": "test_layer_removals_are_refused",
    "PUT /collections/{collectionId}/editing": "test_feature_edits_are_refused",
    "POST /collections/{collectionId}/items": "test_feature_edits_are_refused",
    "PUT /collections/{collectionId}/items/{featureId}": "test_feature_edits_are_refused",
    "PATCH /collections/{collectionId}/items/{featureId}": "test_feature_edits_are_refused",
    "DELETE /collections/{collectionId}/items/{featureId}": "test_feature_edits_are_refused",
    "POST /collections/{collectionId}/batch": "test_feature_edits_are_refused",
    "POST /collections/{collectionId}/items/{featureId}/versions/{version}/revert": (
        "test_feature_edits_are_refused"
    ),
    "POST /admin/subscriptions": "test_subscription_writes_by_every_caller",
    "DELETE /admin/subscriptions/{subscriptionId}": "test_subscription_writes_by_every_caller",
    "POST /admin/subscriptions/{subscriptionId}/redeliver": (
        "test_subscription_writes_by_every_caller"
    ),
}


# /api lists each process's execution with its own inputs (for clients and fuzzers); all are
# the one route of POST /processes/{processId}/execution, which the matrix asks.
ONE_PROCESS_EXECUTION = re.compile(r"POST /processes/[a-z0-9-]+/execution")


def test_every_write_has_a_rule(generated: Generated) -> None:
    writes = {
        "POST /processes/{processId}/execution" if ONE_PROCESS_EXECUTION.fullmatch(w) else w
        for w in generated.writes
    }
    unruled = sorted(writes - set(WRITE_RULES))
    assert not unruled, f"writes the access matrix does not ask: {unruled}"


def _points() -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"name": name_marker(PUBLIC, "in", 0), SECRET_FIELD: "w"},
            "geometry": {"type": "Point", "coordinates": list(PLACES["in"][1][0])},
        }
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_subscription_writes_by_every_caller(world: World) -> None:
    """Subscribing to change notifications of every layer, removing and re-sending the
    matrix's subscription, by every caller: the status the rules give, nothing removed that
    the rules keep."""
    asked, problems = subscription_write_problems(world, _levels(world))
    assert asked > 0 and not problems, "\n".join(problems)


def test_layer_removals_are_refused(world: World) -> None:
    """Rollback and delete by every caller on every level: each refusal the rules give (401,
    403, 404 — the layer is untouched). Callers the rules allow are not asked here (it would
    remove the matrix's layers); tests/access/test_gaps_admin_layers.py asks them."""
    levels, problems, asked = _levels(world), [], 0
    for who in world.callers:
        for layer_id in (*LAYERS, UNKNOWN):
            want = expected_write_status("access", who, layer_id, levels, ok=200)
            if want == 200:
                continue
            for method, path in (
                ("POST", f"/admin/layers/{layer_id}/rollback"),
                ("DELETE", f"/admin/layers/{layer_id}"),
            ):
                asked += 1
                answer = world.client.request(method, who.at(path), json={}, headers=who.headers)
                if answer.status_code != want:
                    problems.append(
                        f"{who.name} {method} {path}: {answer.status_code}, want {want}"
                    )
    assert asked > 0 and not problems, "\n".join(problems)
    assert set(LAYERS) <= set(_levels(world)), "a refused removal removed a layer"


def test_feature_edits_are_refused(world: World) -> None:
    """Opening a layer for editing and editing its features (Part 4), by every caller on every
    level: each refusal the rules give (401, 403, 404 — nothing changes). Callers allowed to
    write are not asked here (tests/edit asks them)."""
    levels, problems, asked = _levels(world), [], 0
    feature = {"type": "Feature", "properties": {}, "geometry": None}
    for who in world.callers:
        for layer_id in (*LAYERS, UNKNOWN):
            want = expected_write_status("edit", who, layer_id, levels, ok=200)
            if want == 200:
                continue
            base = f"/collections/{layer_id}"
            for method, path, body in (
                ("PUT", f"{base}/editing", {"editable": True}),
                ("POST", f"{base}/items", feature),
                ("PUT", f"{base}/items/1", feature),
                ("PATCH", f"{base}/items/1", {"properties": {}}),
                ("DELETE", f"{base}/items/1", None),
                ("POST", f"{base}/batch", {"operations": [{"op": "delete", "id": 1}]}),
                ("POST", f"{base}/items/1/versions/1/revert", None),
            ):
                asked += 1
                headers = who.headers | {"If-Match": "*"}
                answer = world.client.request(method, who.at(path), json=body, headers=headers)
                if answer.status_code != want:
                    problems.append(
                        f"{who.name} {method} {path}: {answer.status_code}, want {want}"
                    )
    assert asked > 0 and not problems, "\n".join(problems)


def test_writes_by_every_caller(world: World) -> None:
    """POST /ingest, a process's publish, access changes, the admin key API and dismissing
    jobs, by every caller on every level: the status the rules give, and a published
    result as closed as its input, owned by its publisher's department."""
    levels = _levels(world)
    client, problems = world.client, []
    results: list[tuple[Who, str, str]] = []

    def check(what: str, answer: httpx.Response, want: int) -> None:
        same_file = want == 201 and answer.status_code == 200 and answer.json().get("unchanged")
        if answer.status_code != want and not same_file:  # the same file again: no new version
            problems.append(f"{what}: {answer.status_code}, expected {want}: {answer.text[:160]}")

    for who in world.callers:
        unknown = _publish(client, who, UNKNOWN, f"mxout-{who.name}-unknown")
        for layer_id in LAYERS:
            upload = {"file": ("points.geojson", _points(), "application/geo+json")}
            answer = client.post(
                who.at("/ingest"), files=upload, data={"layer": layer_id}, headers=who.headers
            )
            check(
                f"{who.name} ingest {layer_id}",
                answer,
                expected_write_status("ingest", who, layer_id, levels, ok=201),
            )
            target = f"mxout-{who.name}-{layer_id}"
            answer = _publish(client, who, layer_id, target)
            want = expected_write_status(
                "publish", who, layer_id, levels, ok=200, unknown_input=unknown.status_code
            )
            check(f"{who.name} publish from {layer_id}", answer, want)
            if answer.status_code == 200:
                results.append((who, layer_id, target))
            level = levels[layer_id][0]
            answer = client.patch(
                who.at(f"/admin/layers/{layer_id}"), json={"level": level}, headers=who.headers
            )
            check(
                f"{who.name} access change {layer_id}",
                answer,
                expected_write_status("access", who, layer_id, levels, ok=200),
            )
        answer = client.get(who.at("/admin/keys"), headers=who.headers)
        check(
            f"{who.name} list keys",
            answer,
            expected_write_status("admin", who, None, levels, ok=200),
        )
        spec = {"department": DEPT_A, "name": f"matrix {who.name}"}
        answer = client.post(who.at("/admin/keys"), json=spec, headers=who.headers)
        check(
            f"{who.name} create key",
            answer,
            expected_write_status("admin", who, None, levels, ok=201),
        )
        if "admin" not in who.roles:  # the admin revokes it last, below
            answer = client.delete(who.at(f"/admin/keys/{world.key_id}"), headers=who.headers)
            check(
                f"{who.name} revoke key",
                answer,
                expected_write_status("admin", who, None, levels, ok=200),
            )
    for who, layer_id, target in results:
        stated = _levels(world)[target]
        department = next(iter(who.departments), None)
        if stated != (levels[layer_id][0], department):
            problems.append(f"{who.name}'s result {target} from {layer_id} is {stated}")
    problems += _dismissals(world)
    admin = _who(world, ADMIN_CALLER).headers
    check("admin revoke key", client.delete(f"/admin/keys/{world.key_id}", headers=admin), 200)
    assert not problems, "\n".join(problems)


def _publish(client: Any, who: Who, layer_id: str, target: str) -> httpx.Response:
    body = buffer_request(layer_id, publish={"collection": target, "output": "zones"})
    answer: httpx.Response = client.post(
        who.at("/processes/buffer-zones/execution"), json=body, headers=who.headers
    )
    return answer


def _dismissals(world: World) -> list[str]:
    """Everyone tries to dismiss every job: only owners and admins may (others: 404);
    owners go last so the others meet the job still there. A key's job is dismissed by the
    way it was submitted (``tk=``); the key's other way, like an admin, is not asked."""
    problems = []
    order = sorted(world.callers, key=lambda who: who.name in world.jobs)
    for owner_name, job_id in world.jobs.items():
        owner = _who(world, owner_name).owner
        for who in order:
            same_owner = who.owner == owner and not who.refused
            if who.name != owner_name and ("admin" in who.roles or same_owner):
                continue  # they could, but then the owner would meet a dismissed job
            answer = world.client.delete(who.at(f"/jobs/{job_id}"), headers=who.headers)
            want = expected_write_status("dismiss", who, None, {}, ok=200, job_owner=owner)
            if answer.status_code != want:
                problems.append(
                    f"{who.name} dismiss {owner_name}'s job: {answer.status_code}, expected {want}"
                )
    return problems
