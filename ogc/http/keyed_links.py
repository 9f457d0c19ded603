"""Links keep the caller's key: a request that came with ``tk=`` gets documents whose links
into this server carry it too (``ogc.http.links.keep_key_in_links``, the one rule).

A plain ASGI middleware inside GZip (it sees the bodies before compression): requests
without ``tk=`` pass straight through — a byte search of the query string — and so do
responses that are not JSON, XML or HTML (tiles, CSV). Such a response to a keyed request is
held until complete, its links rewritten and its Content-Length set again. HTML pages get
their ``href``/``src`` links keyed (``&amp;`` in attributes): a browser opened with ``tk=``
otherwise lost the key on the first link it followed (a feature, the collection list) and
met a 404.
"""

from __future__ import annotations

from ogc.http.asgi_types import ASGIApp, Message, Receive, Scope, Send
from ogc.http.links import keep_key_in_links, key_in_query
from ogc.http.paths import base_url

JSON_TYPES = (
    b"application/json",
    b"application/geo+json",
    b"application/vnd.mapbox.",
    b"application/schema+json",
    b"application/vnd.oai.openapi+json",
)
XML_TYPES = (b"application/xml", b"text/xml")  # entity-escaped links


def _kind(headers: list[tuple[bytes, bytes]]) -> str | None:
    """``json``, ``xml`` or ``html`` for a plain (not yet encoded) document, else None."""
    content_type, encoded = b"", False
    for name, value in headers:
        if name == b"content-type":
            content_type = bytes(value).lower()
        elif name == b"content-encoding" and value != b"identity":
            encoded = True
    if encoded:
        return None
    if content_type.startswith(JSON_TYPES):
        return "json"
    if content_type.startswith(XML_TYPES):
        return "xml"
    if content_type.startswith(b"text/html"):
        return "html"
    return None


class KeyedLinks:
    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app, self.public_url = app, public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = None
        if scope["type"] == "http" and b"tk=" in scope["query_string"]:
            key = key_in_query(scope["query_string"])
        if key is None:
            await self.app(scope, receive, send)
            return
        base = base_url(self.public_url, scope)
        held: Message | None = None
        kind: str | None = None
        parts: list[bytes] = []

        async def keyed(message: Message) -> None:
            nonlocal held, kind
            if message["type"] == "http.response.start":
                kind = _kind(message["headers"])
                if kind is None or message["status"] in (204, 304):  # no body to rewrite
                    kind = None
                    await send(message)
                else:
                    held = message
                return
            if held is None or kind is None or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(parts)
            body = keep_key_in_links(body, base, key, xml=kind == "xml", html=kind == "html")
            headers = [(n, v) for n, v in held["headers"] if n != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, keyed)
