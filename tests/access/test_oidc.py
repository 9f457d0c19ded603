"""Bearer tokens verified against a real JWKS on loopback: real key pairs, real signatures."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import jwt
import pytest

from layers.access.caller import Caller
from layers.access.oidc import TokenVerifier
from layers.errors import AuthenticationFailed
from tests.access.conftest import Clock, oidc_settings
from tests.helpers.idp import (
    DISCOVERY_PATH,
    JWKS_PATH,
    IdentityProvider,
    SigningKey,
    b64url,
    hmac_token,
    unsigned_token,
)


async def rejected(verifier: TokenVerifier, token: str, reason: str) -> AuthenticationFailed:
    """The token fails with ``reason`` in its message, and the message never quotes it."""
    with pytest.raises(AuthenticationFailed) as caught:
        await verifier.verify(token)
    assert reason in caught.value.reason
    assert caught.value.message == f"invalid bearer token: {caught.value.reason}"
    if len(token) > 8:
        for part in token.split("."):
            assert len(part) < 8 or part not in caught.value.message
    return caught.value


async def test_good_token_maps_to_a_caller(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    claims = idp.claims(
        sub="zhang.san",
        dept=["gd-nr", "gz-planning"],
        realm_access={"roles": ["gis-publisher", "staff", "offline_access"]},
        areas=["440106", "440100"],
    )
    caller = await verifier.verify(rsa_key.sign(claims))
    assert caller == Caller(
        kind="user",
        subject="zhang.san",
        departments=frozenset({"gd-nr", "gz-planning"}),
        roles=frozenset({"publisher", "government"}),  # offline_access is not mapped
        areas=("4401",),  # Guangzhou's own code names the city, which holds 440106
    )
    assert idp.hits == {DISCOVERY_PATH: 1, JWKS_PATH: 1}


async def test_ec_signed_token_and_keys_cached(
    verifier: TokenVerifier, idp: IdentityProvider, ec_key: SigningKey, rsa_key: SigningKey
) -> None:
    assert (await verifier.verify(ec_key.sign(idp.claims(sub="li.si")))).subject == "li.si"
    assert (await verifier.verify(rsa_key.sign(idp.claims()))).subject == "user-1"
    assert idp.hits[JWKS_PATH] == 1


async def test_a_user_without_roles_is_a_user_seeing_public_data(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    caller = await verifier.verify(rsa_key.sign(idp.claims()))
    assert (caller.kind, caller.roles, caller.departments, caller.areas) == (
        "user",
        frozenset(),
        frozenset(),
        (),
    )
    assert caller.scope == "public"


async def test_expiry_and_not_before_with_clock_skew(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    now = int(time.time())
    await rejected(verifier, rsa_key.sign(idp.claims(exp=now - 120)), "has expired")
    await rejected(verifier, rsa_key.sign(idp.claims(nbf=now + 120)), "not valid yet")
    await rejected(verifier, rsa_key.sign(idp.claims(iat=now + 120)), "not valid yet")
    within_skew = idp.claims(exp=now - 30, nbf=now + 30, iat=now + 30)  # skew is 60 s
    assert (await verifier.verify(rsa_key.sign(within_skew))).subject == "user-1"


async def test_issuer_audience_and_required_claims(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    await rejected(verifier, rsa_key.sign(idp.claims(iss="https://evil.example")), "issuer")
    await rejected(verifier, rsa_key.sign(idp.claims(aud="another-app")), "audience")
    await rejected(verifier, rsa_key.sign(idp.claims(aud=None)), "no 'aud' claim")
    await rejected(verifier, rsa_key.sign(idp.claims(exp=None)), "no 'exp' claim")
    await rejected(verifier, rsa_key.sign(idp.claims(sub=None)), "no 'sub' claim")
    await rejected(verifier, rsa_key.sign(idp.claims(sub="")), "no 'sub' claim")
    await rejected(verifier, rsa_key.sign(idp.claims(sub=42)), "(sub) is not a string")
    several = idp.claims(aud=["account", "onemap"])  # Keycloak lists several audiences
    assert (await verifier.verify(rsa_key.sign(several))).subject == "user-1"


async def test_wrong_signature(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    impostor = SigningKey.rsa(rsa_key.kid)  # same kid, another key pair
    await rejected(verifier, impostor.sign(idp.claims()), "signature does not verify")
    head, _claims, signature = rsa_key.sign(idp.claims()).split(".")
    forged_body = b64url(json.dumps(idp.claims(sub="admin")).encode())
    await rejected(verifier, f"{head}.{forged_body}.{signature}", "signature does not verify")


async def test_alg_none_and_the_hmac_confusion_attack(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    claims = idp.claims(realm_access={"roles": ["gis-admin"]})
    for alg in ("none", "None", "NONE"):
        token = unsigned_token(claims, {"alg": alg, "kid": rsa_key.kid})
        await rejected(verifier, token, "algorithm is not one of RS256, ES256")
    for secret in (rsa_key.public_pem(), json.dumps(rsa_key.public_jwk()).encode()):
        token = hmac_token(claims, {"kid": rsa_key.kid}, secret)
        await rejected(verifier, token, "algorithm is not one of RS256, ES256")
    # an accepted algorithm on a key of another type: the EC key's kid on an RS256 token
    token = rsa_key.sign(claims, kid=ec_key.kid)
    await rejected(verifier, token, "a key the identity provider does not publish")


async def test_algorithm_bound_to_the_key(
    idp: IdentityProvider, clock: Clock, rsa_key: SigningKey
) -> None:
    """A JWK declaring RS256 never verifies a PS256 token, even when PS256 is accepted."""
    verifier = TokenVerifier(oidc_settings(idp, algorithms=["RS256", "PS256"]), clock=clock)
    token = jwt.encode(idp.claims(), rsa_key.private, algorithm="PS256", headers={"kid": "rsa-1"})
    await rejected(verifier, token, "a key the identity provider does not publish")


async def test_missing_and_unknown_kid_refresh_at_most_once(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    await verifier.verify(rsa_key.sign(idp.claims()))
    assert idp.hits[JWKS_PATH] == 1
    token_without_kid = unsigned_token(idp.claims(), {"alg": "RS256"})
    await rejected(verifier, token_without_kid, "names no signing key (kid)")
    assert idp.hits[JWKS_PATH] == 1
    clock.advance(31)  # past jwks_refresh_min_seconds (30)
    forged = [rsa_key.sign(idp.claims(), kid=f"forged-{n}") for n in range(50)]
    results = await asyncio.gather(*(verifier.verify(t) for t in forged), return_exceptions=True)
    assert all(isinstance(r, AuthenticationFailed) for r in results)
    assert idp.hits[JWKS_PATH] == 2  # one refresh for the whole flood
    clock.advance(10)
    await rejected(verifier, forged[0], "a key the identity provider does not publish")
    assert idp.hits[JWKS_PATH] == 2  # within the interval: no refresh at all
    assert (await verifier.verify(rsa_key.sign(idp.claims()))).subject == "user-1"


async def test_requests_during_the_first_key_fetch_wait_for_it(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    """A page's first requests arrive together: none is refused while the keys load."""
    tokens = [rsa_key.sign(idp.claims(sub=f"user-{n}")) for n in range(5)]
    callers = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert [caller.subject for caller in callers] == [f"user-{n}" for n in range(5)]
    assert idp.hits[JWKS_PATH] == 1


async def test_key_rotation(
    verifier: TokenVerifier,
    idp: IdentityProvider,
    rsa_key: SigningKey,
    other_rsa_key: SigningKey,
    clock: Clock,
) -> None:
    await verifier.verify(rsa_key.sign(idp.claims()))
    idp.keys = [other_rsa_key]  # the IdP rotates: a new kid, the old key withdrawn
    clock.advance(31)
    assert (await verifier.verify(other_rsa_key.sign(idp.claims()))).subject == "user-1"
    assert idp.hits[JWKS_PATH] == 2
    # the set now held no longer has the old key
    await rejected(verifier, rsa_key.sign(idp.claims()), "does not publish")


async def test_keys_expire_after_the_cache_lifetime(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    verifier = TokenVerifier(oidc_settings(idp, jwks_cache_seconds=600), clock=clock)
    await verifier.verify(rsa_key.sign(idp.claims(sub="first")))
    clock.advance(599)
    await verifier.verify(rsa_key.sign(idp.claims(sub="second")))
    assert idp.hits[JWKS_PATH] == 1
    clock.advance(2)
    await verifier.verify(rsa_key.sign(idp.claims(sub="third")))
    assert idp.hits[JWKS_PATH] == 2


async def test_identity_provider_down(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    verifier = TokenVerifier(oidc_settings(idp, jwks_cache_seconds=600), clock=clock)
    idp.down = True
    await rejected(verifier, rsa_key.sign(idp.claims()), "signing keys are unavailable")
    idp.down = False
    await rejected(verifier, rsa_key.sign(idp.claims()), "unavailable")  # retried ≤ 1 per 30 s
    clock.advance(31)
    await verifier.verify(rsa_key.sign(idp.claims()))
    idp.down = True  # an outage after the keys are held: they stay in use
    clock.advance(601)
    assert (await verifier.verify(rsa_key.sign(idp.claims()))).subject == "user-1"


async def test_discovery_document_for_another_issuer(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    settings = oidc_settings(
        idp, issuer=idp.issuer + "-other", discovery_url=idp.issuer + DISCOVERY_PATH[9:]
    )
    verifier = TokenVerifier(settings, clock=clock)
    token = rsa_key.sign(idp.claims(iss=settings.issuer))
    await rejected(verifier, token, "signing keys are unavailable")
    assert idp.hits[JWKS_PATH] == 0


async def test_jwks_url_and_jwks_file(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock, tmp_path: Path
) -> None:
    by_url = TokenVerifier(oidc_settings(idp, jwks_url=idp.jwks_url), clock=clock)
    assert (await by_url.verify(rsa_key.sign(idp.claims()))).subject == "user-1"
    assert idp.hits[DISCOVERY_PATH] == 0
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(idp.jwks()), encoding="utf-8")
    by_file = TokenVerifier(oidc_settings(idp, jwks_file=jwks_file), clock=clock)
    assert (await by_file.verify(rsa_key.sign(idp.claims()))).subject == "user-1"
    assert idp.hits[JWKS_PATH] == 1  # only the URL verifier asked the IdP


async def test_garbage_tokens(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    head = b64url(json.dumps({"alg": "RS256", "kid": rsa_key.kid}).encode())
    garbage = [
        "",
        "abc",
        "a.b.c",
        "....",
        "Bearer x",
        "ünïcödé.tøken.here",
        b64url(b"[1,2]") + ".e30.",  # a header that is not an object
        f"{head}.not-base64!!.sig",
        f"{head}.{b64url(b'not json')}.{b64url(b'x')}",
        f"{head}.{b64url(b'[]')}.{b64url(b'x')}",
        "x" * 20_000,
    ]
    for token in garbage:
        with pytest.raises(AuthenticationFailed):
            await verifier.verify(token)


async def test_a_verified_token_is_remembered_while_valid(
    idp: IdentityProvider, rsa_key: SigningKey, clock: Clock
) -> None:
    verifier = TokenVerifier(oidc_settings(idp, clock_skew_seconds=0), clock=clock)
    expires = int(time.time()) + 2  # at least a second from now
    token = rsa_key.sign(idp.claims(exp=expires))
    assert (await verifier.verify(token)).subject == "user-1"
    assert (await verifier.verify(token)).subject == "user-1"  # remembered
    while time.time() < expires + 0.05:
        await asyncio.sleep(0.05)
    await rejected(verifier, token, "has expired")  # not remembered past exp


async def test_remembered_tokens_are_dropped_with_the_key_set(
    verifier: TokenVerifier,
    idp: IdentityProvider,
    rsa_key: SigningKey,
    other_rsa_key: SigningKey,
    clock: Clock,
) -> None:
    token = rsa_key.sign(idp.claims())
    await verifier.verify(token)
    idp.keys = [other_rsa_key]  # rsa-1 withdrawn (say, compromised)
    clock.advance(31)
    await verifier.verify(other_rsa_key.sign(idp.claims()))  # the new set is loaded
    await rejected(verifier, token, "does not publish")
