"""The admin API (``/admin/keys``, ``/admin/audit``) over the real app: guarded by the
publisher token, writes only from the server's own origin, clear 4xx for bad input, in the
OpenAPI document; and 401/429 answers carry WWW-Authenticate / Retry-After."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from layers.errors import AuthenticationFailed, QuotaExceeded
from ogc.deps import access_of
from ogc.errors import install_error_handlers
from ogc.state import AppState
from tests.conftest import PUBLISHER
from tests.helpers.wait import wait_for

NEW_KEY = {
    "department": "gd-nr",
    "name": "应急指挥平台",
    "type": "server",
    "ipRanges": ["10.44.0.0/16"],
    "roles": ["government"],
    "quotas": {"tiles": 100000, "processes": 0},
    "expiresAt": "2099-01-01T00:00:00+08:00",
}
UNKNOWN_KEY = uuid.UUID(int=0x5EED)  # a fixed id: test ids must match across xdist workers
ENDPOINTS = [
    ("GET", "/admin/keys"),
    ("POST", "/admin/keys"),
    ("DELETE", f"/admin/keys/{UNKNOWN_KEY}"),
    ("GET", f"/admin/keys/{UNKNOWN_KEY}/usage"),
    ("GET", "/admin/audit"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_admin_endpoints_need_the_token(client: TestClient, method: str, path: str) -> None:
    body = NEW_KEY if method == "POST" else None
    assert client.request(method, path, json=body).status_code == 403
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.request(method, path, json=body, headers=wrong).status_code == 403


def test_create_list_usage_revoke_over_http(client: TestClient) -> None:
    created = client.post("/admin/keys", json=NEW_KEY, headers=PUBLISHER)
    assert created.status_code == 201, created.text
    # no-store (the admin API's), with the gate's "private" for a caller who is not public
    assert created.headers["cache-control"] in ("no-store", "private, no-store")
    key, secret = created.json()["key"], created.json()["secret"]
    assert secret.startswith("om_") and key["ipRanges"] == ["10.44.0.0/16"]
    assert key["createdBy"] == "publisher-token" and key["status"] == "active"

    listed = client.get("/admin/keys", params={"department": "gd-nr"}, headers=PUBLISHER)
    assert listed.status_code == 200 and key["id"] in {k["id"] for k in listed.json()["keys"]}
    assert secret not in listed.text

    usage = client.get(f"/admin/keys/{key['id']}/usage", headers=PUBLISHER)
    assert usage.status_code == 200 and usage.json()["usage"] == []

    state: AppState = client.app.state.onemap  # type: ignore[attr-defined]
    service = access_of(state)
    caller = client.portal.call(
        lambda: service.authenticate(secret, "tiles", client_ip="10.44.1.2")
    )
    assert caller.kind == "key" and caller.subject == key["id"]

    revoked = client.delete(f"/admin/keys/{key['id']}", headers=PUBLISHER)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.delete(f"/admin/keys/{key['id']}", headers=PUBLISHER).status_code == 200

    def refused() -> bool:  # this process hears its own revocation through NOTIFY
        try:
            client.portal.call(lambda: service.authenticate(secret, "tiles", client_ip="10.44.1.2"))
        except AuthenticationFailed:
            return True
        return False

    wait_for(refused, "the revoked key was still accepted", timeout=5)

    events = client.get("/admin/audit", params={"actor": "publisher-token"}, headers=PUBLISHER)
    assert events.status_code == 200
    mine = [e for e in events.json()["events"] if e["detail"].get("key_id") == key["id"]]
    assert [e["operation"] for e in mine] == ["key.revoke", "key.create"]
    assert all(e["actor_kind"] == "user" and e["outcome"] == "ok" for e in mine)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/admin/keys", NEW_KEY | {"ipRanges": ["10.44.0.1/16"]}, 400),
        ("POST", "/admin/keys", NEW_KEY | {"department": "nobody"}, 400),
        ("POST", "/admin/keys", NEW_KEY | {"colour": "red"}, 400),
        ("POST", "/admin/keys", NEW_KEY | {"roles": ["root"]}, 400),
        ("POST", "/admin/keys", NEW_KEY | {"quotas": {"wms": 1}}, 400),
        ("POST", "/admin/keys", NEW_KEY | {"quotas": {"tiles": -5}}, 400),
        ("POST", "/admin/keys", NEW_KEY | {"expiresAt": "2020-01-01T00:00:00Z"}, 400),
        ("POST", "/admin/keys", {"name": "no department"}, 400),
        ("DELETE", "/admin/keys/not-a-uuid", None, 400),
        ("DELETE", f"/admin/keys/{UNKNOWN_KEY}", None, 404),
        ("GET", f"/admin/keys/{UNKNOWN_KEY}/usage", None, 404),
        ("GET", "/admin/keys/x/usage?since=2025-02-30", None, 400),
        ("GET", "/admin/audit?since=2025-06-01T00:00:00", None, 400),  # no offset
        ("GET", "/admin/audit?outcome=maybe", None, 400),
        ("GET", "/admin/audit?limit=0", None, 400),
        ("GET", "/admin/audit?limit=5000", None, 400),
    ],
)
def test_bad_admin_requests_are_4xx(
    client: TestClient, method: str, path: str, body: object, status: int
) -> None:
    answer = client.request(method, path, json=body, headers=PUBLISHER)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_cross_origin_admin_writes_are_refused_even_with_the_token(client: TestClient) -> None:
    foreign = PUBLISHER | {"Origin": "https://evil.example"}
    assert client.post("/admin/keys", json=NEW_KEY, headers=foreign).status_code == 403
    assert client.delete(f"/admin/keys/{uuid.uuid4()}", headers=foreign).status_code == 403


def test_audit_pages_link_the_next_page(client: TestClient) -> None:
    for _ in range(2):
        assert client.post("/admin/keys", json=NEW_KEY, headers=PUBLISHER).status_code == 201
    page = client.get(
        "/admin/audit", params={"limit": 1, "operation": "key.create"}, headers=PUBLISHER
    )
    document = page.json()
    assert len(document["events"]) == 1
    next_href = document["links"][0]["href"]
    assert "offset=1" in next_href and "operation=key.create" in next_href
    second = client.get(next_href.removeprefix("http://testserver"), headers=PUBLISHER).json()
    assert second["events"][0]["id"] < document["events"][0]["id"]


def test_the_admin_api_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    assert {"get", "post"} <= set(paths["/admin/keys"])
    assert "delete" in paths["/admin/keys/{keyId}"]
    assert "get" in paths["/admin/keys/{keyId}/usage"] and "get" in paths["/admin/audit"]


def test_401_and_429_carry_their_headers() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/unknown")
    async def unknown() -> None:
        raise AuthenticationFailed("unknown API key", "key")

    @app.get("/over")
    async def over() -> None:
        raise QuotaExceeded("daily tiles quota used", 3600)

    with TestClient(app) as plain:
        refused = plain.get("/unknown")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'ApiKey realm="onemap", param="tk"'
        assert refused.json()["title"] == "Unauthorized"
        limited = plain.get("/over")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3600"
        assert limited.json()["title"] == "Too Many Requests"
