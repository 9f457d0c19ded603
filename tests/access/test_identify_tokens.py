"""Bearer tokens end to end: a good token sees what its roles allow (collections, items,
tiles, WMTS capabilities), privately; a bad, expired, wrongly signed or wrong-audience token
is a 401 with ``WWW-Authenticate`` on every path, public ones included — never an anonymous
read; the publisher token still works; denials are audited; the admin API wants the role."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from tests.access.identify_fixtures import (
    TILE,
    denials,
    flush,
    id_client,
    id_idp,
    id_settings,
    signing_key,
    token,
)
from tests.conftest import PUBLISHER as PUBLISHER_HEADERS
from tests.gate_fixtures import INTERNAL, PUBLIC, RESTRICTED
from tests.helpers.idp import IdentityProvider, SigningKey

__all__ = ["id_client", "id_idp", "id_settings", "signing_key"]  # the fixtures
WMTS_NS = {"wmts": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}


def wmts_layers(client: TestClient, headers: dict[str, str]) -> set[str]:
    answer = client.get("/wmts/1.0.0/WMTSCapabilities.xml", headers=headers)
    assert answer.status_code == 200
    root = ET.fromstring(answer.content)
    return {e.text or "" for e in root.iterfind("wmts:Contents/wmts:Layer/ows:Identifier", WMTS_NS)}


def listed(client: TestClient, headers: dict[str, str]) -> set[str]:
    answer = client.get("/collections", headers=headers)
    assert answer.status_code == 200
    return {c["id"] for c in answer.json()["collections"]}


def test_a_government_user_sees_internal_layers_privately(
    id_client: TestClient, id_idp: IdentityProvider, signing_key: SigningKey
) -> None:
    staff = token(id_idp, signing_key, "staff")
    assert {INTERNAL, PUBLIC} <= listed(id_client, staff)
    assert RESTRICTED not in listed(id_client, staff)  # not a member of its department
    assert INTERNAL in wmts_layers(id_client, staff)
    assert INTERNAL not in wmts_layers(id_client, {})
    base = f"/collections/{INTERNAL}"
    for path in (base, f"{base}/items", f"{base}/queryables", TILE.replace(PUBLIC, INTERNAL)):
        answer = id_client.get(path, headers=staff)
        assert answer.status_code in (200, 204), (path, answer.text)
        assert answer.headers["cache-control"].startswith("private"), path
        assert "Authorization" in answer.headers["vary"], path
        assert id_client.get(path).status_code == 404, path  # anonymous: it does not exist


def test_a_department_member_sees_its_restricted_layer(
    id_client: TestClient, id_idp: IdentityProvider, signing_key: SigningKey
) -> None:
    member = token(id_idp, signing_key, "member")
    assert RESTRICTED in listed(id_client, member)
    assert RESTRICTED in wmts_layers(id_client, member)
    items = id_client.get(f"/collections/{RESTRICTED}/items", headers=member)
    assert items.status_code == 200 and items.json()["features"]
    tile = id_client.get(TILE.replace(PUBLIC, RESTRICTED), headers=member)
    assert tile.status_code == 200 and tile.headers["cache-control"].startswith("private")


def bad_tokens(idp: IdentityProvider, key: SigningKey) -> dict[str, str]:
    impostor = SigningKey.rsa(key.kid)  # the same key id, another key pair
    return {
        "expired": key.sign(idp.claims(exp=1_000_000)),
        "wrong audience": key.sign(idp.claims(aud="another-app")),
        "wrongly signed": impostor.sign(idp.claims()),
        "not a JWT": "not.a.jwt",
    }


@pytest.mark.parametrize("path", ["/", "/collections", f"/collections/{PUBLIC}/items", TILE])
def test_a_bad_token_is_a_401_even_on_public_paths(
    id_client: TestClient, id_idp: IdentityProvider, signing_key: SigningKey, path: str
) -> None:
    assert id_client.get(TILE).status_code == 200  # the tile is cached: the fast path's
    for what, bad in bad_tokens(id_idp, signing_key).items():
        answer = id_client.get(path, headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, (what, path, answer.text)
        assert answer.headers["www-authenticate"].startswith('Bearer realm="onemap"'), what
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 401
        claims = bad.split(".")[1]
        assert len(claims) < 8 or claims not in answer.text, what  # the token is not quoted


def test_the_publisher_token_still_works(id_client: TestClient) -> None:
    assert id_client.get(f"/collections/{RESTRICTED}", headers=PUBLISHER_HEADERS).status_code == 200
    assert id_client.get("/admin/keys", headers=PUBLISHER_HEADERS).status_code == 200


def test_the_admin_api_wants_the_admin_role(
    id_client: TestClient, id_idp: IdentityProvider, signing_key: SigningKey
) -> None:
    admin = token(id_idp, signing_key, "gis-admin")
    assert id_client.get("/admin/keys", headers=admin).status_code == 200
    staff = token(id_idp, signing_key, "staff")
    assert id_client.get("/admin/keys", headers=staff).status_code == 403
    assert id_client.get("/admin/audit", headers=staff).status_code == 403


def test_denials_are_audited(
    id_client: TestClient,
    id_idp: IdentityProvider,
    signing_key: SigningKey,
    sample_url: str,
) -> None:
    flush(id_client)
    before_401 = denials(sample_url, None, 401)
    hidden_before = denials(sample_url, "auditee", 404)
    expired = {"Authorization": f"Bearer {signing_key.sign(id_idp.claims(exp=1_000_000))}"}
    for _ in range(5):  # a flood is one event whose count grows
        assert id_client.get(TILE, headers=expired).status_code == 401
    staff = token(id_idp, signing_key, "staff", sub="auditee")
    assert id_client.get(f"/collections/{RESTRICTED}/items", headers=staff).status_code == 404
    assert id_client.get(f"/collections/{PUBLIC}/items?limit=1", headers=staff).status_code == 200
    assert id_client.get(f"/collections/{RESTRICTED}").status_code == 404  # anonymous: no record
    flush(id_client)
    assert denials(sample_url, None, 401) == before_401 + 5
    assert denials(sample_url, "auditee", 404) == hidden_before + 1
    for _ in range(2):
        assert id_client.get(TILE, headers=expired).status_code == 401
    flush(id_client)
    assert denials(sample_url, None, 401) == before_401 + 7
