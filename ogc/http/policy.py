"""The response policy: CORS, gzip and Vary, tile Cache-Control — from the settings, once.

``cors`` is Starlette's ``CORSMiddleware`` rule for simple (non-preflight) responses
without credentials: ``Vary: Origin`` always; with an Origin, the exposed headers and
``Access-Control-Allow-Origin`` (``*`` when every origin is allowed, the origin itself when
it is listed, none otherwise). The app's middleware (``ogc.http.cors.CorsMiddleware``) and the fast
layer both write it, so a cached tile and a routed one carry the same headers.

``REVALIDATE`` is the Cache-Control of documents that change with the catalog and the
caller (WMTS capabilities), for clients that keep documents without one.

``secure`` adds the security headers, to every response (routed and fast): ``nosniff``
always, and on HTML a Content-Security-Policy (the page's own, made by ``page_policy``,
else the strictest), a frame policy (``frame-ancestors 'none'`` and ``X-Frame-Options``)
and ``Referrer-Policy``.

``make_private`` is the rule for responses made for a caller who sees more than the public
(``Caller.scope`` other than ``"public"``): no shared cache may keep them, and they vary
with the credentials. The gate's middleware (``ogc.gate.middleware``) applies it to every
routed response and the fast layer to the tiles it serves.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass

from layers.settings import ServiceSettings
from ogc.http.asgi_types import Headers

GZIP_MINIMUM = 1024  # bytes: smaller bodies are sent as they are
CORS_METHODS = ("GET", "HEAD", "OPTIONS", "POST")  # POST: processes; WriteGuard: the rest
CORS_EXPOSED = ("ETag", "Last-Modified", "Content-Crs", "Link")
_EXPOSED = ", ".join(CORS_EXPOSED).encode()
CREDENTIALS_HEADER = b"Authorization, X-OneMap-Key"  # what a private response varies with
SHARED_ONLY = (b"public", b"s-maxage")  # Cache-Control directives a private response drops
# Documents that change with the catalog and the caller (WMTS capabilities): revalidate on
# every use. ``no-cache`` says so to HTTP caches; ``max-age=0`` gives an expiry to clients
# that drop Cache-Control — QGIS keeps capabilities 24 h by URL unless Qt found an expiry,
# so a key sent as a header after an anonymous visit (or a new layer) reached it a day late.
REVALIDATE = "max-age=0, no-cache"


NOSNIFF = (b"x-content-type-options", b"nosniff")
HTML_ONLY = (  # headers only a document a browser renders needs
    (b"x-frame-options", b"DENY"),  # for browsers without CSP's frame-ancestors
    # a page's URL (a key, the sign-in's code) is told to no other site
    (b"referrer-policy", b"same-origin"),
)


def page_policy(
    here: str = "'self'",
    *,
    connect_also: str | None = None,
    scripts: tuple[str, ...] = (),
    styles: tuple[str, ...] = (),
) -> str:
    """An HTML page's Content-Security-Policy: everything from ``here`` (this server) only,
    images also inline (``data:``, ``blob:``: the viewer's canvas export), no plugins, no
    ``<base>``, no form posts, never in a frame; ``connect_also`` one more origin the page
    may fetch from (the identity provider's token endpoint); ``scripts`` and ``styles`` the
    inline ``<script>`` and ``<style>`` bodies the page carries, allowed by their hashes."""
    directives = [f"default-src {here}", f"img-src {here} data: blob:"]
    if scripts:
        directives.append(f"script-src {here} {_hashes(scripts)}")
    if styles:
        directives.append(f"style-src {here} {_hashes(styles)}")
    if connect_also:
        directives.append(f"connect-src {here} {connect_also}")
    directives += ["object-src 'none'", "base-uri 'none'", "form-action 'none'"]
    return "; ".join([*directives, "frame-ancestors 'none'"])


def _hashes(inline: tuple[str, ...]) -> str:
    digests = (hashlib.sha256(text.encode()).digest() for text in inline)
    return " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)


STRICTEST = page_policy().encode()  # an HTML answer whose route set none (errors, WMTS info)


def secure(headers: Headers) -> None:
    """Add the security headers to a response's ``headers`` (those already set are kept)."""
    present = {key for key, _ in headers}
    if NOSNIFF[0] not in present:
        headers.append(NOSNIFF)
    content_type = next((value for key, value in headers if key == b"content-type"), b"")
    if not content_type.startswith(b"text/html"):
        return
    if b"content-security-policy" not in present:
        headers.append((b"content-security-policy", STRICTEST))
    headers.extend(pair for pair in HTML_ONLY if pair[0] not in present)


@dataclass(frozen=True)
class ResponsePolicy:
    origins: tuple[str, ...]
    gzip_level: int
    tile_max_age: int

    @classmethod
    def of(cls, settings: ServiceSettings) -> ResponsePolicy:
        origins = tuple(settings.cors_origins)
        return cls(origins, settings.gzip_level, settings.tile_cache_max_age)

    @property
    def every_origin(self) -> bool:
        return "*" in self.origins

    def cors(self, origin: bytes | None, headers: Headers) -> None:
        """Add the CORS headers of a simple response for a request from ``origin``."""
        if origin is not None:
            set_header(headers, b"access-control-expose-headers", _EXPOSED)
            if self.every_origin:
                set_header(headers, b"access-control-allow-origin", b"*")
            elif origin.decode("latin-1") in self.origins:
                set_header(headers, b"access-control-allow-origin", origin)
        add_vary(headers, b"Origin")

    def gzip(self, body: bytes, headers: Headers, accept_encoding: bytes) -> bytes:
        """GZipMiddleware's rule for a whole body: from ``GZIP_MINIMUM`` bytes on, Vary on
        Accept-Encoding and, when the client takes gzip, the body compressed."""
        if len(body) < GZIP_MINIMUM:
            return body
        add_vary(headers, b"Accept-Encoding")
        if b"gzip" not in accept_encoding:
            return body
        compressed = gzip.compress(body, compresslevel=self.gzip_level)
        set_header(headers, b"content-encoding", b"gzip")
        set_header(headers, b"content-length", str(len(compressed)).encode())
        return compressed

    def tile_cache_control(self) -> str:
        return tile_cache_control(self.tile_max_age)


def tile_cache_control(max_age: int) -> str:
    """A tile's Cache-Control (``ONEMAP_TILE_CACHE_MAX_AGE``; 0: revalidate every time)."""
    return f"public, max-age={max_age}" if max_age > 0 else "public, no-cache"


def make_private(headers: Headers) -> None:
    """A response for a caller who sees more than the public: ``Cache-Control: private``
    (its max-age or no-cache kept) and ``Vary: Authorization, X-OneMap-Key``."""
    control = next((value for key, value in headers if key == b"cache-control"), b"")
    kept = [d.strip() for d in control.split(b",") if d.strip()]
    kept = [d for d in kept if d.split(b"=")[0].lower() not in (*SHARED_ONLY, b"private")]
    set_header(headers, b"cache-control", b", ".join([b"private", *kept]))
    add_vary(headers, CREDENTIALS_HEADER)


def set_header(headers: Headers, name: bytes, value: bytes) -> None:
    """Replace the first ``name`` in place (dropping the others) or append it."""
    at = [i for i, (key, _) in enumerate(headers) if key == name]
    if not at:
        headers.append((name, value))
        return
    headers[at[0]] = (name, value)
    for i in reversed(at[1:]):
        del headers[i]


def add_vary(headers: Headers, name: bytes) -> None:
    for i, (key, value) in enumerate(headers):
        if key == b"vary":
            headers[i] = (key, value + b", " + name)
            return
    headers.append((b"vary", name))
