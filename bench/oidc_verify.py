"""Cost of verifying a bearer token: first sight (signature, claims) and repeated (remembered).

    python bench/oidc_verify.py [--n 3000]

Signs Keycloak-shaped RS256 and ES256 tokens with freshly generated keys, serves the public
keys from a JWKS file in a temporary folder, and times ``TokenVerifier.verify`` on ``n``
distinct tokens (each verified for the first time) and on one token ``n`` times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from layers.access.oidc import TokenVerifier
from layers.access.oidc_settings import OidcSettings

ISSUER = "https://id.example.org/realms/gd"


def claims(n: int) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": ["account", "onemap"],
        "sub": f"user-{n}",
        "iat": now,
        "exp": now + 3600,
        "jti": f"token-{n}",
        "preferred_username": "zhang.san",
        "dept": ["gd-nr"],
        "realm_access": {"roles": ["government", "offline_access"]},
        "areas": ["440106"],
    }


async def per_verify_us(verifier: TokenVerifier, tokens: list[str]) -> float:
    start = time.perf_counter()
    for token in tokens:
        await verifier.verify(token)
    return (time.perf_counter() - start) / len(tokens) * 1e6


async def main(n: int) -> None:
    keys = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
    }
    jwks = {
        "keys": [
            {**RSAAlgorithm.to_jwk(keys["RS256"].public_key(), as_dict=True), "kid": "RS256"},
            {**ECAlgorithm.to_jwk(keys["ES256"].public_key(), as_dict=True), "kid": "ES256"},
        ]
    }
    with tempfile.TemporaryDirectory() as folder:
        jwks_file = Path(folder) / "jwks.json"
        jwks_file.write_text(json.dumps(jwks), encoding="utf-8")
        settings = OidcSettings(
            issuer=ISSUER, audience="onemap", jwks_file=jwks_file, roles_claim="realm_access.roles"
        )
        verifier = TokenVerifier(settings)
        for alg, key in keys.items():
            tokens = [jwt.encode(claims(i), key, alg, headers={"kid": alg}) for i in range(n)]
            await verifier.verify(tokens[0])  # load the keys
            first = await per_verify_us(verifier, tokens[1:])
            again = await per_verify_us(verifier, [tokens[0]] * n)
            size = len(tokens[0])
            print(f"{alg}: {size} chars, first sight {first:.0f} µs, again {again:.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    asyncio.run(main(parser.parse_args().n))
