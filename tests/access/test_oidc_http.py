"""A rejected bearer token is a 401 with the Bearer challenge, through the one error table."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import FastAPI, Header

from layers.access.oidc import TokenVerifier
from layers.errors import AuthenticationFailed
from ogc.errors import bearer_challenge, install_error_handlers
from tests.helpers.idp import IdentityProvider, SigningKey


def whoami_app(verifier: TokenVerifier) -> FastAPI:
    """The smallest app that asks the verifier, with OneMap's error handlers."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/whoami")
    async def whoami(authorization: Annotated[str, Header()]) -> dict[str, object]:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationFailed("the Authorization header is not a Bearer token")
        caller = await verifier.verify(token)
        return {"subject": caller.subject, "roles": sorted(caller.roles)}

    return app


async def test_401_with_www_authenticate(
    verifier: TokenVerifier, idp: IdentityProvider, rsa_key: SigningKey
) -> None:
    transport = httpx.ASGITransport(app=whoami_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://onemap") as client:
        good = rsa_key.sign(idp.claims(realm_access={"roles": ["gis-admin"]}))
        response = await client.get("/whoami", headers={"Authorization": f"Bearer {good}"})
        assert response.status_code == 200
        assert response.json() == {"subject": "user-1", "roles": ["admin"]}

        expired = rsa_key.sign(idp.claims(exp=1_000_000))
        response = await client.get("/whoami", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == (
            'Bearer realm="onemap", error="invalid_token", '
            'error_description="the token has expired"'
        )
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["status"], body["title"]) == (401, "Unauthorized")
        assert body["detail"] == "invalid bearer token: the token has expired"
        assert expired.split(".")[1] not in response.text

        response = await client.get("/whoami", headers={"Authorization": "Basic dXNlcg=="})
        assert response.status_code == 401
        assert (
            'error_description="the Authorization header is not a Bearer token"'
            in (response.headers["www-authenticate"])
        )


def test_the_challenge_keeps_only_quotable_characters() -> None:
    assert bearer_challenge('the "dept" claim \\ is bad\r\n — 部门') == (
        'Bearer realm="onemap", error="invalid_token", error_description="the dept claim  is bad  "'
    )
