"""The access matrix's world: four layers (one per access level), the people who call, and
the app they call, all real — OIDC tokens signed by a loopback identity provider, API keys in
PostgreSQL (one used up to its quotas), layers registered through the catalog's own writes.

Every layer holds points inside county 440106 (Tianhe), inside 440305 (Nanshan) and far from
both (440604); every feature's ``name`` and internal ``secret`` carry a marker naming its
layer and place (``MXN-mx-restr-b-in-2``, ``MXS-…``), so a response can be searched for
anything its caller may not see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from layers.access.keys import KeySpec, create_key
from layers.catalog import FieldInfo
from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.conftest import ADMIN, oidc_settings
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.helpers.catalog import fixture_meta, register_department, register_table
from tests.helpers.idp import IdentityProvider, SigningKey, identity_provider
from tests.helpers.wait import wait_for

DEPT_A, DEPT_B = "mx-dept-a", "mx-dept-b"
PUBLIC, INTERNAL, RESTR_A, RESTR_B = "mx-public", "mx-internal", "mx-restr-a", "mx-restr-b"
UNKNOWN = "mx-nosuch"  # never published: what a hidden layer must look like
# layer id -> (access level, owning department); no id is a substring of another
LAYERS: dict[str, tuple[str, str]] = {
    PUBLIC: ("public", DEPT_A),
    INTERNAL: ("internal", DEPT_B),
    RESTR_A: ("restricted", DEPT_A),
    RESTR_B: ("restricted", DEPT_B),
}
COUNTY, OTHER_AREA = "440106", "440305"
# place -> (county it lies in, points)
PLACES: dict[str, tuple[str, list[tuple[float, float]]]] = {
    "in": (COUNTY, [(113.36, 23.14), (113.33, 23.12), (113.40, 23.16)]),
    "nan": (OTHER_AREA, [(113.93, 22.53), (113.92, 22.52)]),
    "far": ("440604", [(113.12, 23.02), (113.10, 22.98)]),
}
SECRET_FIELD = "mx_secret"  # the internal field; its name appears nowhere else
FIELDS = [FieldInfo("name", "string", "name"), FieldInfo("mx_secret", "string", "mx_secret")]
CREATE = (
    "CREATE TABLE {} (fid bigint PRIMARY KEY DEFAULT nextval('onemap.feature_id_seq'), "
    "name text, mx_secret text, geom geometry(Point, 4490))"
)
INSERT = (
    "INSERT INTO {} (name, mx_secret, geom) "
    "VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) RETURNING fid"
)
ROLE_MAP = {"staff": "government", "member": "member", "publisher": "publisher", "boss": "admin"}


def name_marker(layer_id: str, place: str, n: int) -> str:
    return f"MXN-{layer_id}-{place}-{n}"


def secret_marker(layer_id: str, place: str, n: int) -> str:
    return f"MXS-{layer_id}-{place}-{n}"


def table_of(layer_id: str) -> str:
    return layer_id.replace("-", "_") + "_v1"


@dataclass(frozen=True)
class Who:
    """One caller of the matrix: how they present themselves (``headers``, or their key as
    ``tk=`` in every URL they ask) and what the issue's rules grant them (roles,
    departments, areas), written here, not read from code."""

    name: str
    headers: dict[str, str]
    roles: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    areas: tuple[str, ...] = ()
    refused: bool = False  # a credential that must be a 401 everywhere
    over_quota: bool = False  # a key whose every service quota is used up
    owner: tuple[str, str | None] = ("anonymous", None)  # (kind, subject) of their jobs
    tk: str | None = None  # the key this caller sends as ``tk=`` (Tianditu's way)

    def at(self, url: str) -> str:
        """``url`` as this caller asks it: with ``tk=<key>`` when they send their key so."""
        if self.tk is None:
            return url
        return f"{url}{'&' if '?' in url else '?'}{urlencode({'tk': self.tk})}"


@dataclass(frozen=True)
class Subscription:
    """The matrix's change-notification subscription (made by an admin at the start)."""

    id: str = ""
    department: str = DEPT_A  # whose layer it watches


@dataclass
class World:
    client: TestClient
    callers: list[Who]
    url: str
    key_id: str = ""  # the key over quota (the admin key API's cases name it)
    feature_ids: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)  # caller name -> their job id
    job_layers: dict[str, str] = field(default_factory=dict)  # job id -> its input layer
    subscription: Subscription = Subscription()


def _publish_layers(url: str) -> dict[tuple[str, str], list[int]]:
    ids: dict[tuple[str, str], list[int]] = {}
    with psycopg.connect(url) as conn:
        for department in (DEPT_A, DEPT_B):
            register_department(conn, department)
        for layer_id, (level, department) in LAYERS.items():
            table = table_of(layer_id)
            name = sql.Identifier("onemap_data", table)
            conn.execute(sql.SQL(CREATE).format(name))
            for place, (_, points) in PLACES.items():
                for n, (lon, lat) in enumerate(points):
                    values = (name_marker(layer_id, place, n), secret_marker(layer_id, place, n))
                    row = conn.execute(sql.SQL(INSERT).format(name), (*values, lon, lat)).fetchone()
                    assert row is not None
                    ids.setdefault((layer_id, place), []).append(int(row[0]))
            meta = fixture_meta(
                layer_id,
                "矩阵",
                "Matrix",
                access_level=level,
                department_id=department,
                metadata={"internal_fields": [SECRET_FIELD]},
            )
            register_table(conn, meta, table, FIELDS, "Point")
    return ids


def _token(
    idp: IdentityProvider, key: SigningKey, roles: list[str], **claims: Any
) -> dict[str, str]:
    body = idp.claims(realm_access={"roles": roles}, **claims)
    return {"Authorization": f"Bearer {key.sign(body)}"}


Keys = dict[str, tuple[str, str]]  # caller name -> (key id, secret)
OVER_QUOTA = "key-over-quota"
# caller name -> (roles, daily quota of each service: None unlimited); all of department A
KEYS: dict[str, tuple[tuple[str, ...], int | None]] = {
    OVER_QUOTA: (("government", "member"), 1),  # used up by ``_use_up``
    "key-public": ((), None),  # no role: the public's view, answered by the fast layer
    "key-member": (("government", "member"), None),
}


def _people(idp: IdentityProvider, key: SigningKey, keys: Keys) -> list[Who]:
    def user(name: str, roles: list[str], granted: set[str], **claims: Any) -> Who:
        departments = frozenset(claims.get("dept", []))
        areas = tuple(claims.get("areas", ()))
        headers = _token(idp, key, roles, sub=name, **claims)
        return Who(name, headers, frozenset(granted), departments, areas, owner=("user", name))

    now = int(time.time())
    return [
        # the most privileged first: every cached tile the others ask for was made for them
        user("admin", ["boss"], {"admin"}),
        # then the public's tiles: every later caller (the refused ones too) meets them
        # cached, answered by the fast layer
        *_key_holders("key-public", keys["key-public"]),
        Who("anonymous", {}),
        # tk= first: it meets its scope's tiles uncached, the header way cached
        *_key_holders("key-member", keys["key-member"], tk_first=True),
        user("publisher-a", ["publisher"], {"publisher"}, dept=[DEPT_A]),
        user("member-a", ["member"], {"member"}, dept=[DEPT_A]),
        user("member-a-440305", ["member"], {"member"}, dept=[DEPT_A], areas=[OTHER_AREA]),
        user("government", ["staff"], {"government"}),
        *_key_holders(OVER_QUOTA, keys[OVER_QUOTA]),
        Who(
            "expired-token", _token(idp, key, ["staff"], iat=now - 900, exp=now - 600), refused=True
        ),
        Who("wrong-audience", _token(idp, key, ["staff"], aud="someone-else"), refused=True),
    ]


def _key_holders(name: str, key: tuple[str, str], tk_first: bool = False) -> list[Who]:
    """The holder of a key twice: sending it as ``X-OneMap-Key`` and as ``tk=`` (the same
    rules for both). The first of the two to ask meets no tile of its scope cached."""
    key_id, secret = key
    roles, _ = KEYS[name]
    header = Who(
        name,
        {"X-OneMap-Key": secret},
        frozenset(roles),
        frozenset({DEPT_A}),
        over_quota=name == OVER_QUOTA,
        owner=("key", key_id),
    )
    in_query = replace(header, name=f"{name}-tk", headers={}, tk=secret)
    return [in_query, header] if tk_first else [header, in_query]


def _create_keys(url: str) -> Keys:
    async def create() -> Keys:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            made: Keys = {}
            for name, (roles, quota) in KEYS.items():
                quotas = {"tiles": quota, "features": quota, "processes": quota}
                spec = KeySpec(DEPT_A, f"matrix: {name}", roles=roles, quotas=quotas)
                key, secret = await create_key(conn, spec, ADMIN)
                made[name] = (str(key.id), secret)
            return made

    return asyncio.run(create())


def _use_up(client: TestClient, secret: str) -> None:
    """One request of each service spends the key's quotas; the next is over."""
    headers = {"X-OneMap-Key": secret}
    for path in ("/collections", "/tileMatrixSets", "/processes"):
        assert client.get(path, headers=headers).status_code == 200
        assert client.get(path, headers=headers).status_code == 429


@pytest.fixture(scope="module")
def world(
    settings: ServiceSettings, sample_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    key = SigningKey.rsa("matrix-1")
    with identity_provider(key) as idp:
        oidc = oidc_settings(idp, role_map=ROLE_MAP, areas_claim="areas")
        tiles = tmp_path_factory.mktemp("matrix-tiles")
        app = create_app(settings.model_copy(update={"oidc": oidc, "tile_cache_dir": tiles}))
        with TestClient(app) as client:
            feature_ids = _publish_layers(sample_url)
            for layer_id in LAYERS:
                path = f"/collections/{layer_id}"
                wait_for(
                    lambda path=path: (
                        client.get(path, headers=PUBLISHER_HEADERS).status_code == 200
                    ),
                    f"{path} never appeared",
                )
            assert client.app.fast_layer is not None  # type: ignore[attr-defined]  # as served
            keys = _create_keys(sample_url)
            key_id, secret = keys[OVER_QUOTA]
            _use_up(client, secret)
            built = World(client, _people(idp, key, keys), sample_url, key_id, feature_ids)
            submit_jobs(built)
            built.subscription = subscribe(built, PUBLIC)
            yield built


HOOK = "http://127.0.0.1:9/matrix-hook"  # nothing listens: deliveries are retried, harmless


def subscribe(world: World, layer_id: str) -> Subscription:
    """A subscription of department A to ``layer_id`` (department A's), made by the admin."""
    admin = next(w for w in world.callers if w.name == "admin")
    body = {"department": DEPT_A, "layer": layer_id, "url": HOOK}
    answer = world.client.post("/admin/subscriptions", json=body, headers=admin.headers)
    assert answer.status_code == 201, answer.text
    return Subscription(answer.json()["subscription"]["id"], DEPT_A)


JOB_INPUT = {  # each caller's job reads the most closed layer they see
    "admin": RESTR_B,
    "publisher-a": RESTR_A,
    "member-a": RESTR_A,
    "member-a-440305": RESTR_A,
    "government": INTERNAL,
    "anonymous": PUBLIC,
    "key-member-tk": RESTR_A,  # submitted, followed and dismissed with ``tk=``
}


def buffer_request(layer_id: str, **extra: Any) -> dict[str, Any]:
    sites = {"collection": layer_id}
    return {"inputs": {"sites": sites, "check": sites, "distance_m": 500}, **extra}


def submit_jobs(world: World) -> None:
    """One finished job per caller who may run one, on ``JOB_INPUT``'s layer."""
    for who in world.callers:
        if who.name not in JOB_INPUT:
            continue
        answer = world.client.post(
            who.at("/processes/buffer-zones/execution"),
            json=buffer_request(JOB_INPUT[who.name]),
            headers=who.headers | {"Prefer": "respond-async"},
        )
        assert answer.status_code == 201, (who.name, answer.text)
        job_id = answer.json()["jobID"]
        world.jobs[who.name] = job_id
        world.job_layers[job_id] = JOB_INPUT[who.name]
    for who in world.callers:
        if who.name in world.jobs:
            url = who.at(f"/jobs/{world.jobs[who.name]}")
            wait_for(
                lambda url=url, h=who.headers: (
                    world.client.get(url, headers=h).json()["status"] in ("successful", "failed")
                ),
                f"{url} never finished",
            )
            status = world.client.get(url, headers=who.headers).json()
            assert status["status"] == "successful", status
