"""API keys end to end through HTTP: ``tk=`` and ``X-OneMap-Key``, referer and IP binding
(X-Forwarded-For from a trusted vs an untrusted proxy), the tiles quota counted on cached
tiles of the fast path (429 + Retry-After), revocation, two live apps sharing one quota,
links that keep ``tk=``, and private answers for keys that see more than the public."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import httpx
from fastapi.testclient import TestClient

from layers.settings import ServiceSettings
from ogc.app import create_app
from tests.access.identify_fixtures import (
    TILE,
    flush,
    id_client,
    id_idp,
    id_settings,
    new_key,
    revoke,
    signing_key,
)
from tests.gate_fixtures import INTERNAL, PUBLIC
from tests.helpers.live import live_server
from tests.helpers.wait import wait_for

__all__ = ["id_client", "id_idp", "id_settings", "signing_key"]  # the fixtures
WMTS = "{http://www.opengis.net/wmts/1.0}"


def test_a_key_as_tk_or_header_sees_what_its_roles_allow(
    id_client: TestClient, sample_url: str
) -> None:
    _, secret = new_key(sample_url, roles=("government",))
    items = f"/collections/{INTERNAL}/items"
    assert id_client.get(items).status_code == 404
    for answer in (
        id_client.get(items, params={"tk": secret}),
        id_client.get(items, headers={"X-OneMap-Key": secret}),
    ):
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"].startswith("private")
        assert "Authorization" in answer.headers["vary"]
    unknown = id_client.get(f"/collections/{PUBLIC}/items", params={"tk": "om_nosuchkey"})
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"].startswith("ApiKey")


def test_the_tiles_quota_counts_cached_tiles_on_the_fast_path(
    id_client: TestClient, sample_url: str
) -> None:
    key, secret = new_key(sample_url, quotas={"tiles": 3})
    assert id_client.get(TILE).status_code == 200  # cached for the public
    hot = id_client.app.fast_layer._hot  # type: ignore[attr-defined]
    hot.clear()
    answers = [id_client.get(TILE, params={"tk": secret}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert hot.get(TILE, False) is not None  # the fast path served them (and remembered the tile)
    assert answers[0].headers["cache-control"].startswith("public")  # it sees the public's
    refused = answers[3]
    assert 0 < int(refused.headers["retry-after"]) <= 86_400
    assert refused.json()["status"] == 429 and "quota" in refused.json()["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    # Features have no quota set: the same key still reads them.
    assert id_client.get(f"/collections/{PUBLIC}", params={"tk": secret}).status_code == 200
    flush(id_client)
    usage = id_client.get(f"/admin/keys/{key.id}/usage", headers=_admin())
    assert {(u["service"], u["count"]) for u in usage.json()["usage"]} >= {("tiles", 3)}


def _admin() -> dict[str, str]:
    from tests.conftest import PUBLISHER

    return PUBLISHER


def test_a_browser_key_is_bound_to_its_pages(id_client: TestClient, sample_url: str) -> None:
    _, secret = new_key(sample_url, type="browser", referers=("map.gd.gov.cn",))
    path, params = f"/collections/{PUBLIC}/items", {"tk": secret, "limit": "1"}
    assert id_client.get(path, params=params).status_code == 403  # no Referer/Origin
    page = {"Referer": "https://map.gd.gov.cn/viewer/"}
    assert id_client.get(path, params=params, headers=page).status_code == 200
    origin = {"Origin": "https://map.gd.gov.cn"}
    assert id_client.get(path, params=params, headers=origin).status_code == 200
    other = id_client.get(path, params=params, headers={"Referer": "https://evil.example/"})
    assert other.status_code == 403 and "evil.example" in other.json()["detail"]
    foreign = id_client.get(path, params=params, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403  # with CORS headers, so the page can read why
    assert foreign.headers["access-control-allow-origin"] == "*"


def test_a_server_key_is_bound_to_its_addresses_through_trusted_proxies(
    id_settings: ServiceSettings, id_client: TestClient, sample_url: str
) -> None:
    _, secret = new_key(sample_url, ip_ranges=("10.44.0.0/16",))
    path = f"/collections/{PUBLIC}?tk={secret}"
    inside, outside = {"X-Forwarded-For": "10.44.1.2"}, {"X-Forwarded-For": "10.9.9.9"}
    with live_server(create_app(id_settings)) as trusted:  # 127.0.0.1 is the trusted proxy
        assert httpx.get(trusted.url + path, headers=inside).status_code == 200
        assert httpx.get(trusted.url + path, headers=outside).status_code == 403
        assert httpx.get(trusted.url + path).status_code == 403  # 127.0.0.1 itself
    with live_server(create_app(id_settings), forwarded_allow_ips="192.0.2.1") as untrusted:
        refused = httpx.get(untrusted.url + path, headers=inside)  # a forged header
        assert refused.status_code == 403 and "127.0.0.1" in refused.json()["detail"]


def test_revocation_takes_effect(id_client: TestClient, sample_url: str) -> None:
    key, secret = new_key(sample_url)
    path = f"/collections/{PUBLIC}"
    assert id_client.get(path, params={"tk": secret}).status_code == 200
    assert id_client.get(TILE, params={"tk": secret}).status_code == 200
    revoke(sample_url, key)
    wait_for(
        lambda: id_client.get(path, params={"tk": secret}).status_code == 401,
        "the revoked key was still accepted",
        timeout=5,
    )
    tile = id_client.get(TILE, params={"tk": secret})  # the fast path refuses it too
    assert tile.status_code == 401 and "revoked" in tile.json()["detail"]


def test_two_live_apps_share_one_quota(id_settings: ServiceSettings, sample_url: str) -> None:
    _, secret = new_key(sample_url, quotas={"features": 10})
    path = f"/collections/{PUBLIC}?tk={secret}"
    with live_server(create_app(id_settings)) as a, live_server(create_app(id_settings)) as b:
        assert httpx.get(b.url + path).status_code == 200  # b knows the key (1 used)
        assert [httpx.get(a.url + path).status_code for _ in range(5)] == [200] * 5
        time.sleep(2.5)  # both flush (1 s): a's counts reach the database, b learns them
        statuses = [httpx.get(b.url + path).status_code for _ in range(6)]
        assert statuses == [200] * 4 + [429] * 2
        time.sleep(2.5)  # a learns b's counts at its next flush (the bounded overshoot)
        assert httpx.get(a.url + path).status_code == 429


def test_links_keep_the_key(id_client: TestClient, sample_url: str) -> None:
    _, secret = new_key(sample_url)
    tk = f"tk={secret}"
    collections = id_client.get("/collections", params={"tk": secret}).json()
    hrefs = [link["href"] for link in collections["links"]]
    hrefs += [link["href"] for c in collections["collections"] for link in c["links"]]
    assert hrefs and all(tk in href for href in hrefs if href.startswith("http://testserver"))
    items = id_client.get(f"/collections/{PUBLIC}/items", params={"tk": secret, "limit": 2})
    links = {link["rel"]: link["href"] for link in items.json()["links"]}
    assert tk in links["next"] and links["next"].count("tk=") == 1 and tk in links["self"]
    tilejson = f"/collections/{PUBLIC}/tiles/WebMercatorQuad/tilejson.json"
    tiles = id_client.get(tilejson, params={"tk": secret}).json()["tiles"]
    assert all(t.endswith("{z}/{y}/{x}?" + tk) for t in tiles)
    tilesets = id_client.get(f"/collections/{PUBLIC}/tiles", params={"tk": secret}).json()
    assert tk in str(tilesets["tilesets"][0]["links"])
    capabilities = id_client.get("/wmts/1.0.0/WMTSCapabilities.xml", params={"tk": secret})
    root = ET.fromstring(capabilities.content)
    templates = [e.get("template", "") for e in root.iter(f"{WMTS}ResourceURL")]
    assert templates and all(t.endswith("?" + tk) for t in templates)
    # Without a key, nothing changes.
    plain = id_client.get(tilejson).json()["tiles"]
    assert all("tk=" not in t for t in plain)
