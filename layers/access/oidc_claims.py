"""A verified token's claims → the ``Caller`` every access decision sees.

Claim names are settings (identity providers differ): a name is first looked up as it is
(Auth0-style ``https://example.org/roles``), then as a dotted path into nested claims
(Keycloak's ``realm_access.roles``). A claim of the wrong shape or an invalid area rejects
the token: dropping a bad area would lift the caller's area limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from layers.access.areas import area_prefixes
from layers.access.caller import Caller
from layers.access.oidc_settings import OidcSettings
from layers.errors import AuthenticationFailed


def claim_at(claims: Mapping[str, object], name: str) -> object | None:
    """The claim called ``name``, or the value at its dotted path; None when absent."""
    if name in claims:
        return claims[name]
    value: object = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def claim_strings(claims: Mapping[str, object], name: str) -> tuple[str, ...]:
    """A claim holding one string or a list of strings (absent: none)."""
    value = claim_at(claims, name)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise AuthenticationFailed(f"the token's '{name}' claim is not a string or list of strings")


def caller_from_claims(claims: Mapping[str, object], settings: OidcSettings) -> Caller:
    subject = claim_at(claims, settings.user_claim)
    if not isinstance(subject, str) or not subject:
        raise AuthenticationFailed(f"the token has no '{settings.user_claim}' claim")
    idp_roles = claim_strings(claims, settings.roles_claim)
    try:
        areas = area_prefixes(claim_strings(claims, settings.areas_claim))
    except ValueError as exc:
        raise AuthenticationFailed(f"the token's '{settings.areas_claim}' claim: {exc}") from exc
    return Caller(
        kind="user",
        subject=subject,
        departments=frozenset(claim_strings(claims, settings.departments_claim)),
        roles=frozenset(settings.role_map[r] for r in idp_roles if r in settings.role_map),
        areas=areas,
    )
