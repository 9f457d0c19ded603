"""OidcSettings: the environment's forms, and the set-ups that are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from layers.access.oidc import TokenVerifier
from layers.access.oidc_settings import OidcSettings

ISSUER = "https://id.gd.gov.cn/realms/gd"


def test_disabled_without_an_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = OidcSettings()
    assert not settings.enabled
    with pytest.raises(ValueError, match="ONEMAP_OIDC_ISSUER"):
        TokenVerifier(settings)


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEMAP_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("ONEMAP_OIDC_AUDIENCE", "onemap")
    monkeypatch.setenv("ONEMAP_OIDC_ALGORITHMS", "RS256, PS256")
    monkeypatch.setenv("ONEMAP_OIDC_ROLE_MAP", "gis-admin=admin, staff=government")
    monkeypatch.setenv("ONEMAP_OIDC_ROLES_CLAIM", "realm_access.roles")
    monkeypatch.setenv("ONEMAP_OIDC_CLOCK_SKEW_SECONDS", "30")
    settings = OidcSettings()
    assert settings.enabled
    assert settings.algorithms == ("RS256", "PS256")
    assert settings.role_map == {"gis-admin": "admin", "staff": "government"}
    assert settings.roles_claim == "realm_access.roles"
    assert settings.clock_skew_seconds == 30
    assert settings.discovery_url == f"{ISSUER}/.well-known/openid-configuration"
    monkeypatch.setenv("ONEMAP_OIDC_ROLE_MAP", '{"a": "member"}')
    monkeypatch.setenv("ONEMAP_OIDC_ALGORITHMS", '["ES256"]')
    settings = OidcSettings()
    assert (settings.role_map, settings.algorithms) == ({"a": "member"}, ("ES256",))


def test_defaults() -> None:
    settings = OidcSettings(issuer=ISSUER, audience="onemap")
    assert settings.algorithms == ("RS256", "ES256")
    assert settings.clock_skew_seconds == 60
    assert (settings.user_claim, settings.departments_claim) == ("sub", "dept")
    assert (settings.roles_claim, settings.areas_claim) == ("roles", "areas")
    assert settings.role_map == {r: r for r in ("government", "member", "publisher", "admin")}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"algorithms": ["HS256"]}, "not accepted"),
        ({"algorithms": ["RS256", "none"]}, "not accepted"),
        ({"algorithms": []}, "at least one"),
        ({"audience": None}, "ONEMAP_OIDC_AUDIENCE is required"),
        ({"jwks_url": ISSUER + "/certs", "jwks_file": Path("k.json")}, "set one of"),
        ({"jwks_url": "http://id.gd.gov.cn/certs"}, "https://"),
        ({"discovery_url": "ftp://127.0.0.1/x"}, "https://"),
        ({"issuer": "http://id.gd.gov.cn/realms/gd"}, "https://"),
        ({"role_map": "gis-admin=root"}, "role_map"),
        ({"role_map": "gis-admin"}, "is not idp-role=onemap-role"),
        ({"roles_claim": "realm_access..roles"}, "empty path segment"),
        ({"clock_skew_seconds": -1}, "clock_skew_seconds"),
        ({"jwks_refresh_min_seconds": 0}, "jwks_refresh_min_seconds"),
    ],
)
def test_refused_set_ups(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OidcSettings.model_validate({"issuer": ISSUER, "audience": "onemap", **values})


def test_plain_http_keys_only_from_loopback() -> None:
    for host in ("127.0.0.1", "localhost", "[::1]"):
        url = f"http://{host}:8080/certs"
        assert OidcSettings(issuer=ISSUER, audience="a", jwks_url=url).jwks_url == url
