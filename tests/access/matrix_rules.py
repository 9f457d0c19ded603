"""What the access matrix expects, written from issue 13's rules (and the README's service
table), not from the product's code: ``expected_status`` is the one expectation function,
``forbidden_strings`` what a response to a caller must never contain.

The rules, as the issue states them:
- anonymous callers see public layers; any caller holding a role (a government user, a
  member, a publisher, an admin, a key granting a role) sees internal layers; members and
  publishers see the restricted layers of their departments; admins see everything;
- internal fields are absent for callers below the internal level (those without a role);
- a caller limited to areas sees the features of internal and restricted layers only inside
  them (public layers whole);
- a layer a caller may not see does not exist for them: the answer of an unknown id;
- a bad token is a 401 everywhere; a key over its quota a 429 on every path of that quota's
  service (features, tiles, processes; none for the landing page, /api, health, admin);
- the admin API is for admins (403 for anyone else); a job is its owner's and admins';
  /metrics is for admins (401 for the public, who presents no credential; 403 for others).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tests.access.matrix_world import (
    LAYERS,
    PLACES,
    SECRET_FIELD,
    Who,
    name_marker,
    secret_marker,
)

DEPARTMENT_ROLES = frozenset({"member", "publisher"})


def sees(who: Who, layer_id: str, levels: dict[str, tuple[str, str | None]]) -> bool:
    """Whether ``who`` may see the layer at all (an id not in ``levels`` is unknown)."""
    if layer_id not in levels:
        return False
    level, department = levels[layer_id]
    if level == "public" or "admin" in who.roles:
        return True
    if level == "internal":
        return bool(who.roles)
    return department in who.departments and bool(who.roles & DEPARTMENT_ROLES)


def sees_internal_fields(who: Who) -> bool:
    return bool(who.roles)


def clipped(who: Who, level: str) -> bool:
    return bool(who.areas) and level != "public"


def in_areas(who: Who, adcode: str) -> bool:
    return any(adcode.startswith(area) for area in who.areas)


def service_of_template(template: str) -> str | None:
    """The quota a path counts against, as the README's "API keys" section lists them."""
    parts = template.split(" ", 1)[0].strip("/").split("/")
    if parts[0] == "collections":
        return (
            "tiles" if len(parts) > 2 and parts[2] in ("tiles", "map", "style.json") else "features"
        )
    if parts[0] == "search":  # it reads features' names
        return "features"
    if parts[0] in ("tiles", "tileMatrixSets", "wmts"):
        return "tiles"
    if parts[0] in ("processes", "jobs"):
        return "processes"
    return None  # landing, conformance, /api, health, admin, ingest


@dataclass(frozen=True)
class Case:
    """One request of the matrix and what it is about."""

    method: str
    url: str
    template: str  # the endpoint it instantiates (OpenAPI path, or WMTS operation/resource)
    scope: str  # "general" | "admin" | "metrics" | "subscriptions" | "layer" | "feature" | "job"
    layers: tuple[str, ...] = ()  # the layers it is about (all must be visible)
    unknown_status: int = 404  # what an unknown layer id answers on this endpoint
    place: str | None = None  # feature cases: where the feature lies
    job_owner: tuple[str, str | None] | None = None
    department: str | None = None  # a subscription's case: the watched layers' department
    ok_status: int = 200
    kind: str = "json"  # how the body is checked: json, html, csv, mvt, png, xml, text


def expected_status(case: Case, who: Who, levels: dict[str, tuple[str, str | None]]) -> int:
    """The one expectation function: the status ``who`` gets for ``case``."""
    if who.refused:
        return 401
    if who.over_quota and service_of_template(case.template) is not None:
        return 429
    if case.scope == "admin":
        return case.ok_status if "admin" in who.roles else 403
    if case.scope == "metrics":  # admins (and the metrics token, tests/test_metrics.py)
        if "admin" in who.roles:
            return case.ok_status
        return 401 if not who.headers and who.tk is None else 403  # no credential: 401
    if case.scope == "subscriptions":
        return subscriptions_status(who, case.department, case.ok_status)
    if case.scope == "job":
        mine = case.job_owner == who.owner  # anonymous jobs: whoever holds the URL
        return case.ok_status if mine or "admin" in who.roles else 404
    if not all(sees(who, layer_id, levels) for layer_id in case.layers):
        return case.unknown_status
    if case.scope == "feature":
        (layer_id,) = case.layers
        assert case.place is not None
        if clipped(who, levels[layer_id][0]) and not in_areas(who, PLACES[case.place][0]):
            return 404
    return case.ok_status


def forbidden_strings(
    who: Who, levels: dict[str, tuple[str, str | None]], named: Iterable[str] = ()
) -> list[str]:
    """Everything of the matrix's layers a response to ``who`` must not contain: hidden
    layers' ids (except those the request names itself) and features, the internal
    field's name and values below the internal level, features outside a clipped
    caller's areas."""
    named = set(named)
    found: list[str] = [] if sees_internal_fields(who) else [SECRET_FIELD]
    for layer_id in LAYERS:
        visible = sees(who, layer_id, levels)
        if not visible and layer_id not in named:
            found.append(layer_id)
        for place, (adcode, points) in PLACES.items():
            outside = clipped(who, levels[layer_id][0]) and not in_areas(who, adcode)
            for n in range(len(points)):
                if not visible or outside:
                    found.append(name_marker(layer_id, place, n))
                if not visible or outside or not sees_internal_fields(who):
                    found.append(secret_marker(layer_id, place, n))
    return found


def required_strings(
    who: Who, layer_id: str, levels: dict[str, tuple[str, str | None]], first_only: bool = False
) -> list[str]:
    """What a full answer about ``layer_id`` (its items, a tile holding all its points)
    must contain for ``who`` — so the forbidden-string checks are never vacuous."""
    wanted: list[str] = []
    level = levels[layer_id][0]
    for place, (adcode, points) in PLACES.items():
        if clipped(who, level) and not in_areas(who, adcode):
            continue
        for n in range(1 if first_only else len(points)):  # a tile may merge near points
            wanted.append(name_marker(layer_id, place, n))
            if sees_internal_fields(who):
                wanted.append(secret_marker(layer_id, place, n))
    return wanted


def required_names(who: Who, layer_id: str, levels: dict[str, tuple[str, str | None]]) -> list[str]:
    """The names a search for ``layer_id``'s name markers must find for ``who``."""
    level = levels[layer_id][0]
    return [
        name_marker(layer_id, place, n)
        for place, (adcode, points) in PLACES.items()
        if not (clipped(who, level) and not in_areas(who, adcode))
        for n in range(len(points))
    ]


def may_write_layer(who: Who, department: str | None) -> bool:
    return "admin" in who.roles or ("publisher" in who.roles and department in who.departments)


def may_publish_at_all(who: Who) -> bool:
    return "admin" in who.roles or ("publisher" in who.roles and bool(who.departments))


def expected_write_status(
    operation: str,
    who: Who,
    layer_id: str | None,
    levels: dict[str, tuple[str, str | None]],
    *,
    ok: int,
    unknown_input: int = 404,
    job_owner: tuple[str, str | None] | None = None,
) -> int:
    """The status of a write (the issue's "Who may change what"): a layer the caller cannot
    see is not there (404), one they see but do not own is a 403; an upload or a publish
    from someone who publishes nothing is refused before anything else (403)."""
    if who.refused:
        return 401
    if who.over_quota and operation in ("publish", "dismiss", "edit"):
        return 429  # feature edits are requests to the features service, counted as reads are
    if operation == "admin":
        return ok if "admin" in who.roles else 403
    if operation == "dismiss":
        return ok if job_owner == who.owner or "admin" in who.roles else 404
    assert layer_id is not None
    if operation in ("ingest", "publish") and not may_publish_at_all(who):
        return 403
    if not sees(who, layer_id, levels):
        return unknown_input if operation == "publish" else 404
    if operation == "publish":
        return ok  # the input is read; the result is a new layer of the caller's
    return ok if may_write_layer(who, levels[layer_id][1]) else 403


def subscriptions_status(who: Who, department: str | None, ok: int) -> int:
    """Change notifications' admin API: admins, and publishers for the subscriptions that
    watch their departments' layers (another department's is a 404, as an unknown id);
    anyone else is refused (403). ``department`` None: the listing, or a new one."""
    if who.refused:
        return 401
    if "admin" in who.roles:
        return ok
    if "publisher" not in who.roles or not who.departments:
        return 403
    return ok if department is None or department in who.departments else 404


def expected_subscribe_status(
    who: Who, layer_id: str, receiver: str, levels: dict[str, tuple[str, str | None]]
) -> int:
    """A new subscription of ``receiver`` to ``layer_id``: who may manage them at all, then
    the layer as for any write (hidden 404, not theirs 403), then whether the receiving
    department could ever be told (a member of it must be able to read the layer: 400)."""
    refused = subscriptions_status(who, None, 201)
    if refused != 201:
        return refused
    if not sees(who, layer_id, levels):
        return 404
    if not may_write_layer(who, levels[layer_id][1]):
        return 403
    receiving = Who("receiver", {}, frozenset({"member"}), frozenset({receiver}))
    return 201 if sees(receiving, layer_id, levels) else 400
