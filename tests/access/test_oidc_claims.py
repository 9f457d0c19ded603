"""Claims → caller: nested and dotted claim names, role mapping, areas (real signed tokens)."""

from __future__ import annotations

import pytest

from layers.access.areas import area_prefixes
from layers.access.caller import Caller
from layers.access.oidc import TokenVerifier
from layers.access.verified_tokens import VerifiedTokens
from layers.errors import AuthenticationFailed
from tests.access.conftest import Clock, oidc_settings
from tests.helpers.idp import IdentityProvider, SigningKey


async def test_keycloak_client_roles_and_groups(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    settings = oidc_settings(
        idp,
        user_claim="preferred_username",
        roles_claim="resource_access.onemap.roles",
        departments_claim="groups",
        areas_claim="attributes.adcodes",
        role_map="member=member,publish=publisher",
    )
    verifier = TokenVerifier(settings, clock=clock)
    claims = idp.claims(
        preferred_username="wang.wu",
        resource_access={"onemap": {"roles": ["member", "publish"]}, "other": {"roles": ["x"]}},
        realm_access={"roles": ["gis-admin"]},  # not the configured claim: ignored
        groups="gz-tianhe-nr",  # one string is one department
        attributes={"adcodes": ["440106", "440104", "4401"]},
    )
    caller = await verifier.verify(rsa_key.sign(claims))
    assert caller.subject == "wang.wu"
    assert caller.roles == frozenset({"member", "publisher"})
    assert caller.departments == frozenset({"gz-tianhe-nr"})
    assert caller.areas == ("4401",)  # the city covers both districts


async def test_a_claim_name_with_dots_is_looked_up_as_it_is_first(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    settings = oidc_settings(idp, roles_claim="https://gd.gov.cn/roles", role_map="a=admin")
    verifier = TokenVerifier(settings, clock=clock)
    caller = await verifier.verify(rsa_key.sign(idp.claims(**{"https://gd.gov.cn/roles": ["a"]})))
    assert caller.is_admin


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"dept": {"id": "gd-nr"}}, "'dept' claim is not a string or list of strings"),
        ({"dept": ["gd-nr", 7]}, "'dept' claim is not a string or list of strings"),
        ({"realm_access": {"roles": "gis-admin,x"}}, None),  # one unmapped role name: no role
        ({"realm_access": {"roles": [{"name": "gis-admin"}]}}, "'realm_access.roles' claim"),
        ({"areas": ["440106", "44x"]}, "'areas' claim: an area must be an adcode prefix"),
        ({"areas": ["4"]}, "adcode prefix of 2 to 6 digits"),
        ({"areas": ["4401061"]}, "adcode prefix of 2 to 6 digits"),
        ({"areas": 440106}, "'areas' claim is not a string"),
    ],
)
async def test_malformed_claims_reject_the_token(
    verifier: TokenVerifier,
    idp: IdentityProvider,
    rsa_key: SigningKey,
    claims: dict[str, object],
    reason: str | None,
) -> None:
    token = rsa_key.sign(idp.claims(**claims))
    if reason is None:
        assert (await verifier.verify(token)).roles == frozenset()
        return
    with pytest.raises(AuthenticationFailed) as caught:
        await verifier.verify(token)
    assert reason in caught.value.reason


def test_area_prefixes_are_canonical() -> None:
    assert area_prefixes(["440000"]) == ("44",)
    assert area_prefixes(["440100", "440106"]) == ("4401",)
    assert area_prefixes(["440106", "440104", "440106"]) == ("440104", "440106")
    assert area_prefixes(["4403", "440305", "4401"]) == ("4401", "4403")
    assert area_prefixes([]) == ()
    for bad in ["", "4", "1234567", "44a1", " 4401", "４４"]:
        with pytest.raises(ValueError, match="2 to 6 digits"):
            area_prefixes([bad])


def test_verified_tokens_are_bounded_and_generation_bound() -> None:
    now = [100.0]
    remembered = VerifiedTokens(max_entries=2, now=lambda: now[0])
    user = Caller(kind="user", subject="u")
    for token in ("a", "b", "c"):
        remembered.put(token, user, valid_until=200.0, generation=1)
    assert len(remembered) == 2
    assert remembered.get("a", 1) is None  # the least recently used went first
    assert remembered.get("b", 1) == user
    assert remembered.get("b", 2) is None  # another key set: verified afresh
    assert remembered.get("b", 1) is None  # and dropped
    now[0] = 200.0
    assert remembered.get("c", 1) is None  # expired
    assert len(remembered) == 0
