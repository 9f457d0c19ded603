"""Headers as two answers to one request can be compared: without each answer's own
request id (``ogc.http.request_id`` makes one per request)."""

from __future__ import annotations

import httpx

PER_REQUEST = frozenset({b"x-request-id"})


def comparable(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in response.headers.raw if k.lower() not in PER_REQUEST]
