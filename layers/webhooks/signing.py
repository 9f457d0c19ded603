"""Signing a notification so its receiver can trust it (the Standard Webhooks scheme).

Headers: ``webhook-id`` (the event's id, the same on every retry: receivers drop duplicates
by it), ``webhook-timestamp`` (Unix seconds of this attempt: receivers refuse old ones, so a
captured request cannot be replayed later) and ``webhook-signature``: ``v1,`` and the base64
HMAC-SHA256 of ``<id>.<timestamp>.<body>`` under the subscription's secret (``whsec_`` and
the base64 of 32 random bytes; the key is those bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, event_id, timestamp, body),
    }
