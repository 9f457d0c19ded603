"""One error for a presented credential that is not valid (issue 13): an unknown or revoked
API key and a bad bearer token are both ``AuthenticationFailed``, resolved by the gate
and answered from the one table (``ogc/errors.py``) — 401, the challenge of the scheme the
credential came in, a reason that never quotes it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import layers.errors
from layers.errors import AuthenticationFailed, OneMapError
from ogc.errors import headers_of, status_of
from ogc.gate.caller import CallerRefused
from ogc.http.asgi_types import Scope
from tests.access.identify_fixtures import (
    id_client,
    id_idp,
    id_settings,
    new_key,
    revoke,
    signing_key,
)
from tests.gate_fixtures import PUBLIC
from tests.helpers.idp import IdentityProvider, SigningKey

__all__ = ["id_client", "id_idp", "id_settings", "signing_key"]  # the fixtures
ITEMS = f"/collections/{PUBLIC}/items"
KEY_CHALLENGE = 'ApiKey realm="onemap", param="tk"'


def _refusal(client: TestClient, headers: list[tuple[bytes, bytes]], query: bytes) -> OneMapError:
    """The error the gate's resolver refuses a request's credential with."""
    resolver = client.app.state.onemap.callers  # type: ignore[attr-defined]
    scope: Scope = {
        "type": "http",
        "path": ITEMS,
        "headers": headers,
        "query_string": query,
        "client": ("127.0.0.1", 50000),
    }
    with pytest.raises(CallerRefused) as caught:
        client.portal.call(resolver.caller_of, scope)
    return caught.value.refusal.error


def test_keys_and_tokens_are_refused_with_one_error_type(
    id_client: TestClient, id_idp: IdentityProvider, signing_key: SigningKey, sample_url: str
) -> None:
    assert not hasattr(layers.errors, "Unauthenticated")  # no second 401 type beside it
    key, secret = new_key(sample_url)
    revoke(sample_url, key)
    expired = signing_key.sign(id_idp.claims(exp=1_000_000))
    unknown = _refusal(id_client, [], b"tk=om_nosuchkey")
    revoked = _refusal(id_client, [(b"x-onemap-key", secret.encode())], b"")
    token = _refusal(id_client, [(b"authorization", f"Bearer {expired}".encode())], b"")
    for error in (unknown, revoked, token):
        assert type(error) is AuthenticationFailed and status_of(error) == 401
    assert (unknown.credential, unknown.message) == ("key", "unknown API key")
    assert revoked.message == "this API key was revoked"
    assert headers_of(revoked) == {"WWW-Authenticate": KEY_CHALLENGE}
    assert token.credential == "bearer"
    assert token.message == "invalid bearer token: the token has expired"
    assert headers_of(token) == {
        "WWW-Authenticate": 'Bearer realm="onemap", error="invalid_token", '
        'error_description="the token has expired"'
    }


def test_both_answers_keep_their_challenge_and_body(
    id_client: TestClient, id_idp: IdentityProvider, signing_key: SigningKey
) -> None:
    key_answer = id_client.get(ITEMS, params={"tk": "om_nosuchkey"})
    expired = signing_key.sign(id_idp.claims(exp=1_000_000))
    token_answer = id_client.get(ITEMS, headers={"Authorization": f"Bearer {expired}"})
    for answer in (key_answer, token_answer):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["cache-control"] == "no-store"
    assert key_answer.headers["www-authenticate"] == KEY_CHALLENGE
    assert key_answer.json()["detail"] == "unknown API key"
    assert token_answer.headers["www-authenticate"].startswith(
        'Bearer realm="onemap", error="invalid_token"'
    )
    assert token_answer.json()["detail"] == "invalid bearer token: the token has expired"
    assert expired.split(".")[1] not in token_answer.text
