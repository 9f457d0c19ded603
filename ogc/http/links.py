"""Link objects and media types shared by the routers."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode

from layers.platform import CRS84_URI
from layers.platform import epsg_uri as epsg_uri
from ogc.http.paths import COLLECTION_TILEJSON, STYLE, href

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
HTML = "text/html"
CRS84 = CRS84_URI
TILEJSON = "application/vnd.mapbox.tile+json"
STYLE_JSON = "application/vnd.mapbox.style+json"
KEY_PARAMETER = "tk"  # an API key in a URL (Tianditu's name); the gate reads it too
# A URL a document gives as a whole JSON string, XML attribute or element text.
_URL_END = rb'[^"<>\s\\]*'


def link(href: str, rel: str, media_type: str = JSON, title: str | None = None) -> dict[str, str]:
    item = {"href": href, "rel": rel, "type": media_type}
    if title:
        item["title"] = title
    return item


def page_link_href(href: str, kept: list[tuple[str, str]], extra: tuple[str, str]) -> str:
    """``href`` with the request's other parameters (``kept``, in order) and one more, each
    percent-encoded (a key, a CRS URI, a filter may hold ``&``, ``#`` or spaces)."""
    return f"{href}?{urlencode([*kept, extra])}"


def with_query(url: str, params: dict[str, object]) -> str:
    kept = {k: v for k, v in params.items() if v is not None}
    return f"{url}?{urlencode(kept)}" if kept else url


def style_links(
    base: str, collection_id: str, kind: str, tms_id: str = "WebMercatorQuad"
) -> list[dict[str, str]]:
    """The MapLibre style (``rel=stylesheet``) and the TileJSON of the vector tiles on
    ``tms_id`` (``rel=describedby``) of a collection; none for a raster layer (no MVT)."""
    if kind != "vector":
        return []
    style = href(base, STYLE, collectionId=collection_id)
    return [
        link(style, "stylesheet", STYLE_JSON, "MapLibre style"),
        link(
            href(base, COLLECTION_TILEJSON, collectionId=collection_id, tileMatrixSetId=tms_id),
            "describedby",
            TILEJSON,
            f"TileJSON of the vector tiles on {tms_id}",
        ),
    ]


def key_in_query(query: bytes) -> str | None:
    """The first ``tk=`` value of a query string (None when absent or empty)."""
    for name, value in parse_qsl(query.decode("latin-1")):
        if name == KEY_PARAMETER and value:
            return value
    return None


def with_key(url: str, key: str, xml: bool = False) -> str:
    """``url`` with ``tk=<key>`` added to its query (kept when it has one already); a KVP
    endpoint ending in ``?``/``&`` keeps that end, for clients that append parameters."""
    query = url.partition("?")[2].replace("&amp;", "&")
    if any(name == KEY_PARAMETER for name, _ in parse_qsl(query)):
        return url
    amp = "&amp;" if xml else "&"
    param = f"{KEY_PARAMETER}={quote(key, safe='')}"
    if url.endswith(("?", "&", "&amp;")):
        return f"{url}{param}{amp}"
    return f"{url}{amp if '?' in url else '?'}{param}"


def keep_key_in_links(
    body: bytes, base: str, key: str, xml: bool = False, html: bool = False
) -> bytes:
    """Every link of a JSON or XML document that points into this server (starts with the
    request's ``base`` URL) with the caller's ``tk=`` added, so clients following links
    (QGIS, OpenLayers, Tianditu SDKs) keep their access: self/next links, tile templates,
    TileJSON ``tiles``, WMTS ResourceURLs. In HTML (entity-escaped as XML), only what a
    browser follows or loads: ``href`` and ``src`` attributes — a page's other attributes
    (the viewer's ``data-base``, which it keys itself) are data. The one rule for every
    response; routers build their links without it."""
    url = re.escape(base.encode()) + rb"(?:/" + _URL_END + rb")?"
    before = rb'(?:(?<=href=")|(?<=src="))' if html else rb'(?<=[">])'
    pattern = re.compile(before + url + rb'(?=["<])')

    def keyed(found: re.Match[bytes]) -> bytes:
        return with_key(found[0].decode(), key, xml or html).encode()

    return pattern.sub(keyed, body)
