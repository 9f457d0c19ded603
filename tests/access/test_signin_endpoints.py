"""The viewer's sign-in endpoints, read from a real loopback provider's discovery document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from layers.access.discovery import http_fetcher
from layers.access.oidc_settings import OidcSettings
from layers.access.signin import SignInDirectory, browser_config
from tests.access.conftest import Clock, oidc_settings
from tests.helpers.idp import DISCOVERY_PATH, IdentityProvider, SigningKey, serving
from tests.helpers.idp_login import CLIENT_ID, LoginProvider


@pytest.fixture
def login(rsa_key: SigningKey) -> Iterator[LoginProvider]:
    with serving(LoginProvider(port=0, keys=[rsa_key])) as served:
        yield served


def directory(settings: OidcSettings, clock: Clock) -> SignInDirectory:
    return SignInDirectory(settings, http_fetcher(2.0), clock)


async def test_the_endpoints_come_from_the_discovery_document_and_are_kept(
    login: LoginProvider, clock: Clock
) -> None:
    settings = oidc_settings(login, viewer_client_id=CLIENT_ID)
    found = await directory(settings, clock).endpoints()
    assert found is not None
    assert found.token_origin == login.origin
    config = browser_config(found, settings, "http://onemap.example/viewer")
    assert config["authorizationEndpoint"].endswith("/protocol/openid-connect/auth")
    assert (config["clientId"], config["scope"]) == (CLIENT_ID, "openid profile")
    signin = directory(settings, clock)
    await signin.endpoints()
    await signin.endpoints()
    assert login.hits[DISCOVERY_PATH] == 2  # once per directory: kept after that


async def test_a_provider_without_sign_in_endpoints_offers_none_and_is_asked_again_later(
    idp: IdentityProvider, clock: Clock
) -> None:
    signin = directory(oidc_settings(idp), clock)  # discovery + JWKS only
    assert await signin.endpoints() is None
    assert await signin.endpoints() is None
    assert idp.hits[DISCOVERY_PATH] == 1  # a failure is not retried at once
    clock.advance(31)  # past jwks_refresh_min_seconds
    assert await signin.endpoints() is None
    assert idp.hits[DISCOVERY_PATH] == 2


async def test_a_document_for_another_issuer_or_without_s256_is_not_used(
    login: LoginProvider, clock: Clock
) -> None:
    discovery = login.origin + DISCOVERY_PATH  # the provider's, for an issuer it is not
    other = oidc_settings(login, issuer=login.issuer + "-other", discovery_url=discovery)
    assert await directory(other, clock).endpoints() is None
    original = login.document

    def plain_only(path: str) -> object | None:
        found = original(path)
        if isinstance(found, dict):
            found["code_challenge_methods_supported"] = ["plain"]
        return found

    login.document = plain_only  # type: ignore[method-assign]
    assert await directory(oidc_settings(login), clock).endpoints() is None


def test_the_viewer_client_defaults_to_the_audience_and_scope_needs_openid(
    idp: IdentityProvider,
) -> None:
    assert oidc_settings(idp).viewer_client == "onemap"
    assert oidc_settings(idp, viewer_signin=False).viewer_client is None
    assert OidcSettings().viewer_client is None  # no issuer: no sign-in
    with pytest.raises(ValueError, match="must include openid"):
        oidc_settings(idp, viewer_scope="profile")
