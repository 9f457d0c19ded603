"""A webhook receiver on a loopback port, as a subscriber's system would run one.

It answers 500 to its first ``fail_first`` requests (then 204), can be stopped and started
again on the same port (a receiver that is down, then back), keeps every request in arrival
order, and verifies signatures itself (HMAC-SHA256 over ``<id>.<timestamp>.<body>``, the
Standard Webhooks scheme), independently of the product's signing code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import free_port

MAX_AGE_S = 300  # a receiver refuses older timestamps (replay)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event

    def signed_by(self, secret: str) -> bool:
        """Whether the signature header holds the HMAC of this request under ``secret``
        and its timestamp is recent."""
        event_id, stamp = self.headers["webhook-id"], self.headers["webhook-timestamp"]
        if abs(time.time() - int(stamp)) > MAX_AGE_S:
            return False
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = event_id.encode() + b"." + stamp.encode() + b"." + self.body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        given = [part.split(",", 1) for part in self.headers["webhook-signature"].split()]
        return any(v == "v1" and hmac.compare_digest(s, expected) for v, s in given)


@dataclass
class Receiver:
    fail_first: int = 0
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/onemap"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._answer(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = 500 if len(self.requests) < self.fail_first else 204
            lowered = {k.lower(): v for k, v in headers.items()}
            self.requests.append(Received(lowered, body, status))
            return status

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.answered < 300]

    def events(self) -> list[dict[str, Any]]:
        """The events accepted, each once (a retry repeats its ``webhook-id``)."""
        seen: dict[str, dict[str, Any]] = {}
        for request in self.accepted():
            seen.setdefault(request.headers["webhook-id"], request.event)
        return list(seen.values())
