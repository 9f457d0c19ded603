"""Signing in to the viewer at an identity provider: authorization code + PKCE in the browser.

The provider is ``tests/helpers/idp_login.py``'s, on a second loopback origin — the one
origin besides the server's the browser may reach here (``Watch.also``), as the intranet's
provider is in production. OneMap trusts it as it would Keycloak (discovery, JWKS, claims);
a layer only signed-in users see (internal) is published for the module and deleted after.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from ingest.options import IngestOptions
from ingest.pipeline import ingest_file
from layers.access.audit import AuditEvent
from layers.access.oidc_settings import OidcSettings
from layers.layer_admin import delete_layer
from layers.settings import ServiceSettings
from tests.access.conftest import ADMIN
from tests.helpers.catalog import fixture_meta
from tests.helpers.idp import AUDIENCE, SigningKey, serving
from tests.helpers.idp_login import CLIENT_ID, LoginProvider
from tests.helpers.live import LiveServer, live_server
from tests.viewer.browser import ViewerPage, changed_share, save_screenshot
from tests.viewer.conftest import PHONE, OpenViewer, viewer_opener
from tests.viewer.test_controls import CONTROLS, overlap

LAYER = "signin-internal"
ENTRY = f'[data-layer-id="{LAYER}"]'
GUANGZHOU = "#c=113.40000,23.20000&z=9&g=WebMercatorQuad&l=gd-province"
USER = {
    "sub": "user-signin",
    "name": "测试用户",
    "preferred_username": "tester",
    "dept": ["gd-nr"],
    "realm_access": {"roles": ["gis-staff"]},  # → government: internal layers
}
SQUARE = [[113.1, 22.9], [113.7, 22.9], [113.7, 23.5], [113.1, 23.5], [113.1, 22.9]]


@pytest.fixture(scope="module")
def provider() -> Iterator[LoginProvider]:
    idp = LoginProvider(port=0, keys=[SigningKey.rsa("signin-1")], user=USER)
    with serving(idp) as served:
        yield served


@pytest.fixture(scope="module")
def internal_layer(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = Path(tmp_path_factory.mktemp("signin")) / "internal.geojson"
    feature = {"type": "Feature", "properties": {"name": "内部区域"},
               "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    meta = fixture_meta(LAYER, "内部测试图层", "Internal test layer", access_level="internal")
    ingest_file(sample_url, path, meta, IngestOptions(who="tests"))
    yield LAYER
    with psycopg.connect(sample_url) as conn:
        delete_layer(conn, LAYER, AuditEvent("layer.delete", ADMIN), None)


@pytest.fixture(scope="module")
def signin_server(
    settings: ServiceSettings, provider: LoginProvider, internal_layer: str
) -> Iterator[LiveServer]:
    from ogc.app import create_app

    oidc = OidcSettings(
        issuer=provider.issuer,
        audience=AUDIENCE,
        viewer_client_id=CLIENT_ID,
        roles_claim="realm_access.roles",
        role_map={"gis-staff": "government"},
    )
    with live_server(create_app(settings.model_copy(update={"oidc": oidc}))) as server:
        provider.redirect_uri = f"{server.url}/viewer"  # registered for the viewer's client
        yield server


@pytest.fixture
def open_signin(
    browser: Browser, signin_server: LiveServer, provider: LoginProvider
) -> Iterator[OpenViewer]:
    with viewer_opener(browser, signin_server.url, also=(provider.origin,)) as open_page:
        yield open_page


def sign_in(viewer: ViewerPage) -> None:
    """Click 登录 and wait for the viewer the provider sends back, signed in and drawn."""
    viewer.page.locator("#signin").click()
    viewer.page.locator("#user:not([hidden])").wait_for()  # only the new page shows it
    viewer.wait_loaded()


def bearers(viewer: ViewerPage, since: int, path_part: str) -> list[str | None]:
    """The Authorization of each request after the ``since``-th whose path has ``path_part``."""
    sent = viewer.watch.authorizations[since:]
    return [auth for url, auth in sent if path_part in urlsplit(url).path]


def test_signing_in_shows_an_internal_layer_and_signing_out_hides_it(
    open_signin: OpenViewer, provider: LoginProvider
) -> None:
    viewer = open_signin(fragment=GUANGZHOU)
    page = viewer.page
    assert page.locator(ENTRY).count() == 0, "the public does not see an internal layer"
    assert page.locator("#signin").inner_text() == "登录" and page.locator("#signout").is_hidden()
    mark, issued = len(viewer.watch.authorizations), len(provider.access_tokens)

    sign_in(viewer)
    token = provider.access_tokens[issued]
    assert page.locator("#user").inner_text() == USER["name"]
    assert page.locator("#signin").is_hidden() and page.locator("#signout").inner_text() == "退出"
    assert "code=" not in page.url and "state=" not in page.url  # the answer left the URL
    assert viewer.state()["c"] == "113.40000,23.20000", "the view came back from the provider"
    assert page.locator(ENTRY).count() == 1, "the signed-in user sees the internal layer"
    assert set(bearers(viewer, mark, "/collections")) == {f"Bearer {token}"}

    before = viewer.map_pixels()
    tiles = len(viewer.watch.authorizations)
    viewer.act_and_render(lambda: page.locator(f"{ENTRY} input[type=checkbox]").check())
    assert changed_share(before, viewer.map_pixels("signin-internal-layer")) > 0.05
    sent = bearers(viewer, tiles, f"/collections/{LAYER}/map/tiles/")
    assert sent and set(sent) == {f"Bearer {token}"}, "its tiles carry the bearer"
    viewer.assert_clean()

    mark = len(viewer.watch.authorizations)
    page.locator("#signout").click()
    page.locator("#status", has_text="已退出登录").wait_for()
    viewer.wait_loaded()
    assert page.locator(ENTRY).count() == 0 and page.locator("#signin").is_visible()
    assert page.locator("#user").is_hidden()
    after = viewer.watch.authorizations[mark:]
    assert after and all(auth is None for _, auth in after), "signed out: no bearer is sent"
    viewer.assert_clean()


def test_an_answer_with_another_state_is_refused(
    open_signin: OpenViewer, provider: LoginProvider, signin_server: LiveServer
) -> None:
    viewer = open_signin()
    page = viewer.page
    grants = len(provider.grants)
    provider.answer_state = "forged-state"  # as an attacker's link would come back
    try:
        page.locator("#signin").click()
        page.locator("#status", has_text="state").wait_for()
    finally:
        provider.answer_state = None
    viewer.wait_loaded()
    assert provider.grants[grants:] == [], "the code was never redeemed"
    assert page.locator(ENTRY).count() == 0 and page.locator("#signin").is_visible()
    assert "code=" not in page.url
    # a forged answer with no sign-in under way is refused the same way
    page.goto(f"{signin_server.url}/viewer?code=stolen&state=guessed")
    page.locator("#status", has_text="state").wait_for()
    viewer.wait_loaded()
    assert provider.grants[grants:] == [] and page.locator(ENTRY).count() == 0
    assert all(auth is None for _, auth in viewer.watch.authorizations)
    viewer.assert_clean()


def test_the_token_is_refreshed_before_it_expires(
    open_signin: OpenViewer, provider: LoginProvider
) -> None:
    viewer = open_signin(fragment=GUANGZHOU)
    page = viewer.page
    page.clock.install()  # the signed-in page's timers run on a clock the test moves
    sign_in(viewer)
    refreshes = provider.grants.count("refresh_token")
    signed_in = provider.access_tokens[-1]
    page.clock.fast_forward(provider.token_lifetime_s * 1000 - 20_000)  # 30 s early is due
    # waited for in the page: its requests pass through this thread's route handler
    kept = "JSON.parse(sessionStorage.getItem('onemap.signin.session')).accessToken"
    page.wait_for_function(f"token => {kept} !== token", arg=signed_in)
    fresh = page.evaluate(kept)
    assert provider.grants.count("refresh_token") == refreshes + 1
    assert fresh == provider.access_tokens[-1] != signed_in
    mark = len(viewer.watch.authorizations)
    viewer.act_and_render(lambda: page.locator(f"{ENTRY} input[type=checkbox]").check())
    assert set(bearers(viewer, mark, f"/collections/{LAYER}/")) == {f"Bearer {fresh}"}
    assert page.locator("#user").inner_text() == USER["name"]
    viewer.assert_clean()


def test_without_a_refresh_token_the_viewer_signs_out_at_expiry(
    open_signin: OpenViewer, provider: LoginProvider
) -> None:
    viewer = open_signin()
    page = viewer.page
    page.clock.install()
    provider.give_refresh_tokens = False
    try:
        sign_in(viewer)
    finally:
        provider.give_refresh_tokens = True
    assert page.locator(ENTRY).count() == 1
    page.clock.fast_forward(provider.token_lifetime_s * 1000 + 1000)
    page.locator("#status", has_text="登录已过期").wait_for()
    viewer.wait_loaded()
    assert page.locator(ENTRY).count() == 0 and page.locator("#signin").is_visible()
    viewer.assert_clean()


def test_on_a_phone_the_sign_in_button_overlaps_no_control(open_signin: OpenViewer) -> None:
    viewer = open_signin(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = viewer.page
    button = page.locator("#signin").bounding_box()
    assert button is not None and button["x"] + button["width"] <= PHONE["width"] + 0.5
    for selector in CONTROLS:
        box = page.locator(selector).first.bounding_box()
        assert box is not None and not overlap(button, box), f"登录 overlaps {selector}"
    save_screenshot(page, "phone-signin")
    viewer.assert_clean()


def page_signin(text: str) -> dict[str, str] | None:
    found = re.search(r'data-signin="([^"]*)"', text)
    assert found is not None
    return json.loads(html.unescape(found[1])) if found[1] else None


def test_the_page_carries_the_sign_in_settings_and_lets_in_only_the_token_endpoint(
    signin_server: LiveServer, provider: LoginProvider
) -> None:
    response = httpx.get(f"{signin_server.url}/viewer")
    assert page_signin(response.text) == {
        "issuer": provider.issuer,
        "authorizationEndpoint": f"{provider.origin}/realms/gd/protocol/openid-connect/auth",
        "tokenEndpoint": f"{provider.origin}/realms/gd/protocol/openid-connect/token",
        "clientId": CLIENT_ID,
        "scope": "openid profile",
        "redirectUri": f"{signin_server.url}/viewer",
    }
    policy = response.headers["content-security-policy"]
    assert f"connect-src 'self' {signin_server.url} {provider.origin}" in policy
    assert response.headers["referrer-policy"] == "same-origin"


def test_without_an_identity_provider_the_page_offers_no_sign_in(client: TestClient) -> None:
    response = client.get("/viewer")
    assert page_signin(response.text) is None
    assert "connect-src" not in response.headers["content-security-policy"]
