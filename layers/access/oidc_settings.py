"""How OneMap trusts an OpenID Connect identity provider (``ONEMAP_OIDC_*``).

Bearer tokens are verified only when an issuer is set. Where the keys come from is one of a
discovery document, a JWKS URL or a JWKS file (none given: the issuer's own discovery
document). Claim names differ per identity provider, so they are settings; dotted names walk
into nested claims (Keycloak's ``realm_access.roles``).
"""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, get_args
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from layers.access.caller import Role

# Public-key signatures only: an HMAC ("HS*") key would be the public key itself, the
# classic confusion attack, and "none" is no signature at all.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
ONEMAP_ROLES: tuple[Role, ...] = get_args(Role)
LOOPBACK_HOSTS = frozenset({"localhost"})


def _split_list(value: object) -> object:
    """``a,b`` or a JSON list from the environment; a list as given in code."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _parse_role_map(value: object) -> object:
    """``idp-role=onemap-role,...`` or a JSON object from the environment."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("{"):
        return json.loads(text)
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, role = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"role map entry {part!r} is not idp-role=onemap-role")
        pairs[name.strip()] = role.strip()
    return pairs


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_key_url(url: str, what: str) -> str:
    """Keys must come over TLS (plain HTTP only from this machine, for tests and sidecars)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise ValueError(f"{what} must be an https:// URL (http:// only to a loopback address)")


class OidcSettings(BaseSettings):
    """Bearer-token identity: the issuer, where its keys are, and how its claims map to a
    OneMap caller. Unset issuer: tokens are not accepted (every caller is anonymous or a key).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_OIDC_", extra="ignore")

    issuer: str | None = Field(
        default=None, description="The `iss` every token must carry; unset = OIDC disabled."
    )
    audience: str | None = Field(
        default=None, description="The `aud` every token must carry (OneMap's client id)."
    )
    discovery_url: str | None = Field(
        default=None,
        description="The issuer's .well-known/openid-configuration (default when no JWKS "
        "source is set: the issuer's own).",
    )
    jwks_url: str | None = Field(default=None, description="The issuer's JWKS URL.")
    jwks_file: Path | None = Field(default=None, description="A JWKS file (offline set-ups).")
    algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("RS256", "ES256"), description="Accepted signature algorithms."
    )
    clock_skew_seconds: int = Field(
        default=60, ge=0, le=600, description="Leeway on exp/nbf/iat for clock drift."
    )
    user_claim: str = Field(default="sub", description="Claim naming the user (required).")
    departments_claim: str = Field(default="dept", description="Claim of department ids.")
    roles_claim: str = Field(default="roles", description="Claim of the IdP's role names.")
    areas_claim: str = Field(
        default="areas", description="Claim of adcode prefixes the user is limited to."
    )
    role_map: Annotated[dict[str, Role], NoDecode] = Field(
        default_factory=lambda: dict[str, Role]({role: role for role in ONEMAP_ROLES}),
        description="IdP role name → OneMap role; IdP roles not listed are ignored.",
    )
    jwks_cache_seconds: int = Field(
        default=3600, ge=1, description="Keys are re-fetched after this long."
    )
    jwks_refresh_min_seconds: int = Field(
        default=30,
        ge=1,
        description="At most one re-fetch per this many seconds for tokens with an unknown "
        "`kid`, so forged key ids cannot hammer the identity provider.",
    )
    http_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of each discovery/JWKS request."
    )
    viewer_signin: bool = Field(
        default=True,
        description="Whether /viewer offers sign-in (authorization code + PKCE) when an "
        "issuer is set; its endpoints come from the discovery document.",
    )
    viewer_client_id: str | None = Field(
        default=None,
        description="The public client the viewer signs in as (default: the audience); its "
        "access tokens must still carry the audience.",
    )
    viewer_scope: str = Field(
        default="openid profile", description="The scopes the viewer asks for (openid first)."
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _algorithms_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("algorithms")
    @classmethod
    def _only_asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one signature algorithm is needed")
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"algorithms {refused} are not accepted; choose from {allowed}")
        return value

    @field_validator("role_map", mode="before")
    @classmethod
    def _role_map_pairs(cls, value: object) -> object:
        return _parse_role_map(value)

    @field_validator("discovery_url")
    @classmethod
    def _discovery_tls(cls, value: str | None) -> str | None:
        return None if value is None else check_key_url(value, "ONEMAP_OIDC_DISCOVERY_URL")

    @field_validator("jwks_url")
    @classmethod
    def _jwks_tls(cls, value: str | None) -> str | None:
        return None if value is None else check_key_url(value, "ONEMAP_OIDC_JWKS_URL")

    @field_validator("viewer_scope")
    @classmethod
    def _openid_scope(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("ONEMAP_OIDC_VIEWER_SCOPE must include openid (the ID token's nonce)")
        return " ".join(value.split())

    @field_validator("user_claim", "departments_claim", "roles_claim", "areas_claim")
    @classmethod
    def _claim_name(cls, value: str) -> str:
        if not value.strip() or any(not part for part in value.split(".")):
            raise ValueError(f"claim name {value!r} is empty or has an empty path segment")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> OidcSettings:
        if self.issuer is None:
            return self
        if not self.audience:
            raise ValueError("ONEMAP_OIDC_AUDIENCE is required with ONEMAP_OIDC_ISSUER")
        sources = [s for s in (self.discovery_url, self.jwks_url, self.jwks_file) if s]
        if len(sources) > 1:
            raise ValueError(
                "set one of ONEMAP_OIDC_DISCOVERY_URL, ONEMAP_OIDC_JWKS_URL, ONEMAP_OIDC_JWKS_FILE"
            )
        if not sources:
            default = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self.discovery_url = check_key_url(default, "the issuer's discovery URL")
        return self

    @property
    def enabled(self) -> bool:
        return self.issuer is not None

    @property
    def viewer_client(self) -> str | None:
        """The viewer's client id, when the viewer offers sign-in."""
        if not (self.enabled and self.viewer_signin):
            return None
        return self.viewer_client_id or self.audience

    @property
    def viewer_discovery_url(self) -> str:
        """Where the viewer's endpoints are read: the discovery URL, else the issuer's own
        (also when the keys come from a JWKS URL or file)."""
        assert self.issuer is not None
        default = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        return self.discovery_url or default
