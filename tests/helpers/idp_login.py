"""A loopback identity provider people sign in at, for the viewer's sign-in tests.

``LoginProvider`` adds to ``IdentityProvider`` (discovery + JWKS) what an OIDC provider
does for a public browser client, the way Keycloak does it: an authorization endpoint that
checks the request's PKCE parameters and sends the browser back with a code (no login form:
``user`` is who signs in), and a token endpoint that redeems a code once, for the
``code_verifier`` whose SHA-256 is the challenge, and a refresh token, answering the
client's web origin with CORS. Tokens are real RS256 JWTs signed by a generated key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.helpers.idp import AUDIENCE, REALM_PATH, IdentityProvider, Reply, Request

AUTHORIZE_PATH = f"{REALM_PATH}/protocol/openid-connect/auth"
TOKEN_PATH = f"{REALM_PATH}/protocol/openid-connect/token"
CLIENT_ID = "onemap-viewer"  # the viewer's public client; access tokens carry AUDIENCE
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, unpadded
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1


@dataclass(frozen=True)
class Grant:
    """What an issued code stands for, until it is redeemed."""

    challenge: str
    redirect_uri: str
    nonce: str


@dataclass
class LoginProvider(IdentityProvider):
    redirect_uri: str = ""  # the registered one (the viewer's page); set once it is known
    user: dict[str, Any] = field(default_factory=dict)  # the claims of who signs in
    token_lifetime_s: int = 300
    give_refresh_tokens: bool = True
    answer_state: str | None = None  # send the browser back with this state instead
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: list[str] = field(default_factory=list)  # every one issued, in order
    grants: list[str] = field(default_factory=list)  # grant_type of each token request

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def document(self, path: str) -> object | None:
        found = super().document(path)
        if isinstance(found, dict) and "jwks_uri" in found:
            found |= {
                "authorization_endpoint": self.origin + AUTHORIZE_PATH,
                "token_endpoint": self.origin + TOKEN_PATH,
                "code_challenge_methods_supported": ["plain", "S256"],
                "response_types_supported": ["code"],
            }
        return found

    def reply(self, request: Request) -> Reply:
        if request.path == AUTHORIZE_PATH and request.method == "GET":
            return self.authorize(request.query)
        if request.path == TOKEN_PATH:
            return self.token(request)
        return super().reply(request)

    # --- the authorization endpoint ---------------------------------------------------
    def authorize(self, query: dict[str, str]) -> Reply:
        problem = self._authorization_problem(query)
        if problem:  # never redirected: the redirect URI itself may be what is wrong
            return Reply(400, problem.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(query["code_challenge"], query["redirect_uri"], query["nonce"])
        state = self.answer_state if self.answer_state is not None else query["state"]
        answer = urlencode({"code": code, "state": state, "iss": self.issuer})
        return Reply(302, b"", {"Location": f"{query['redirect_uri']}?{answer}"})

    def _authorization_problem(self, query: dict[str, str]) -> str:
        checks = {
            "response_type is not code": query.get("response_type") == "code",
            "unknown client_id": query.get("client_id") == CLIENT_ID,
            "redirect_uri is not registered": query.get("redirect_uri") == self.redirect_uri,
            "scope lacks openid": "openid" in query.get("scope", "").split(),
            "no state": bool(query.get("state")),
            "no nonce": bool(query.get("nonce")),
            "code_challenge_method is not S256": query.get("code_challenge_method") == "S256",
            "code_challenge is not a SHA-256": bool(
                CHALLENGE.fullmatch(query.get("code_challenge", ""))
            ),
        }
        return "; ".join(problem for problem, ok in checks.items() if not ok)

    # --- the token endpoint -------------------------------------------------------------
    def token(self, request: Request) -> Reply:
        cors = self._cors(request.origin)
        if request.method == "OPTIONS":
            allowed = {"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "*"}
            return Reply(204, b"", cors | allowed)
        form = request.form
        self.grants.append(form.get("grant_type", ""))
        if form.get("client_id") != CLIENT_ID:
            return _refused(cors, "invalid_client", "unknown client_id")
        if form.get("grant_type") == "authorization_code":
            return self._redeem(form, cors)
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return _refused(cors, "invalid_grant", "unknown refresh token")
            self.refresh_tokens.discard(form["refresh_token"])  # rotated, as Keycloak may
            return Reply.of_json(200, self._tokens(nonce=None), cors)
        return _refused(cors, "unsupported_grant_type", "only code and refresh_token")

    def _redeem(self, form: dict[str, str], cors: dict[str, str]) -> Reply:
        grant = self.codes.pop(form.get("code", ""), None)  # a code is redeemed once
        if grant is None:
            return _refused(cors, "invalid_grant", "unknown or used code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _refused(cors, "invalid_grant", "redirect_uri differs from the code's")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        proof = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not VERIFIER.fullmatch(verifier) or proof != grant.challenge:
            return _refused(cors, "invalid_grant", "code_verifier does not match the challenge")
        return Reply.of_json(200, self._tokens(nonce=grant.nonce), cors)

    def _tokens(self, nonce: str | None) -> dict[str, Any]:
        key = self.keys[0]
        now = int(time.time())
        times = {"iat": now, "exp": now + self.token_lifetime_s}
        base = {"iss": self.issuer, "azp": CLIENT_ID, **times, **self.user}
        access = key.sign({**base, "aud": [AUDIENCE], "typ": "Bearer"})
        identity = {**base, "aud": CLIENT_ID, "typ": "ID"} | ({"nonce": nonce} if nonce else {})
        self.access_tokens.append(access)
        tokens = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_s,
            "id_token": key.sign(identity),
            "scope": "openid profile",
        }
        if self.give_refresh_tokens:
            refresh = secrets.token_urlsafe(24)
            self.refresh_tokens.add(refresh)
            tokens["refresh_token"] = refresh
        return tokens

    def _cors(self, origin: str | None) -> dict[str, str]:
        """The client's web origin (its redirect URI's) may read the answers; no other."""
        parts = urlsplit(self.redirect_uri)
        if origin is None or origin != f"{parts.scheme}://{parts.netloc}":
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _refused(cors: dict[str, str], error: str, description: str) -> Reply:
    return Reply.of_json(400, {"error": error, "error_description": description}, cors)
