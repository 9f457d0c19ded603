"""A real identity provider on loopback, for tests of bearer tokens.

``identity_provider()`` serves an OIDC discovery document and a JWKS over HTTP on a free
127.0.0.1 port (Keycloak's paths) and counts the requests for each (``serving`` serves a
provider that answers more, ``tests/helpers/idp_login.py``'s sign-in); ``SigningKey`` holds a
freshly generated RSA or EC key pair and signs tokens with it. Nothing is mocked: tokens are
real JWTs, keys real key pairs, the JWKS real JSON over a real socket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

REALM_PATH = "/realms/gd"
DISCOVERY_PATH = f"{REALM_PATH}/.well-known/openid-configuration"
JWKS_PATH = f"{REALM_PATH}/protocol/openid-connect/certs"
AUDIENCE = "onemap"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str  # RS256 or ES256
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def unsigned_token(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """A token with any header and no signature (alg=none)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}."


def hmac_token(claims: dict[str, Any], header: dict[str, Any], secret: bytes) -> str:
    """An HS256 token signed with ``secret`` (the confusion attack signs with the public key;
    PyJWT itself refuses to, so it is built by hand)."""
    head = b64url(json.dumps({"alg": "HS256", **header}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


@dataclass(frozen=True)
class Reply:
    """What the provider answers one request with (JSON unless the headers say else)."""

    status: int
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, status: int, document: object, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(document).encode(), headers or {})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]  # one value per name (the last)
    form: dict[str, str]  # a POST's urlencoded body
    origin: str | None  # the Origin header (a browser's CORS request)


@dataclass
class IdentityProvider:
    """What the loopback server publishes; change ``keys`` to rotate them."""

    port: int
    keys: list[SigningKey] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    down: bool = False  # answer 503 to everything

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}{REALM_PATH}"

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{JWKS_PATH}"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """A valid token's claims for now, with ``overrides`` (None removes a claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def document(self, path: str) -> object | None:
        if path == DISCOVERY_PATH:
            return {"issuer": self.issuer, "jwks_uri": self.jwks_url}
        if path == JWKS_PATH:
            return self.jwks()
        return None

    def reply(self, request: Request) -> Reply:
        """The published documents; a provider that answers more overrides this."""
        document = self.document(request.path) if request.method == "GET" else None
        return Reply.of_json(200, document) if document is not None else Reply(404)


IdentityProviderT = TypeVar("IdentityProviderT", bound=IdentityProvider)


def _handler(idp: IdentityProvider) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_OPTIONS(self) -> None:
            self._serve("OPTIONS")

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            idp.hits[url.path] += 1
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            request = Request(
                method, url.path, _single(url.query), _single(body), self.headers.get("Origin")
            )
            reply = Reply(503) if idp.down else idp.reply(request)
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet

    return Handler


def _single(text: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(text).items()}


@contextmanager
def identity_provider(*keys: SigningKey) -> Iterator[IdentityProvider]:
    """Serve discovery + JWKS for ``keys`` on a free loopback port until the block ends."""
    with serving(IdentityProvider(port=0, keys=list(keys))) as idp:
        yield idp


@contextmanager
def serving(idp: IdentityProviderT) -> Iterator[IdentityProviderT]:
    """Serve ``idp`` (its ``port`` set) on a free loopback port until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(idp))
    idp.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="idp", daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
