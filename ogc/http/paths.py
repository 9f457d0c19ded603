"""The URL paths OneMap serves, declared once, and the base URL every link starts with.

The routers declare these templates as their FastAPI paths, the raw ASGI fast layer matches
requests with ``matcher(template)``, and link builders (tilesets, TileJSON, feature links,
WMTS ResourceURLs) fill them with ``href``: a path cannot be spelt two ways. Variables keep
the names of the OGC API specifications (``{collectionId}``, ``{tileMatrix}``…); the WMTS
RESTful layout is the one its capabilities document advertises (``tiles.wmts``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from layers.access.keys import Service
from ogc.http.asgi_types import Scope
from tiles.wmts import KVP_PATH, REST_CAPABILITIES, REST_FEATURE_INFO, REST_ROOT, REST_TILE

LANDING = "/"
COLLECTIONS = "/collections"
COLLECTION = COLLECTIONS + "/{collectionId}"
ITEMS = COLLECTION + "/items"
ITEM = ITEMS + "/{featureId}"
BATCH = COLLECTION + "/batch"  # several edits in one transaction (ADR 0013)
ITEM_VERSIONS = ITEM + "/versions"  # a feature's history (ADR 0013)
ITEM_REVERT = ITEM_VERSIONS + "/{version}/revert"
QUERYABLES = COLLECTION + "/queryables"
SCHEMA = COLLECTION + "/schema"  # returnables and receivables (Features Part 5)
STYLE = COLLECTION + "/style.json"
SEARCH = "/search"  # place names and admin codes (ogc/routers/search.py)

TILE_MATRIX_SETS = "/tileMatrixSets"
TILE_MATRIX_SET = TILE_MATRIX_SETS + "/{tileMatrixSetId}"
_TILE = "/{tileMatrix}/{tileRow}/{tileCol}"
COLLECTION_TILESETS = COLLECTION + "/tiles"
COLLECTION_TILESET = COLLECTION_TILESETS + "/{tileMatrixSetId}"
COLLECTION_TILE = COLLECTION_TILESET + _TILE
COLLECTION_TILEJSON = COLLECTION_TILESET + "/tilejson.json"
MAP_TILESETS = COLLECTION + "/map/tiles"
MAP_TILESET = MAP_TILESETS + "/{tileMatrixSetId}"
MAP_TILE = MAP_TILESET + _TILE
DATASET_TILESETS = "/tiles"
DATASET_TILESET = DATASET_TILESETS + "/{tileMatrixSetId}"
DATASET_TILE = DATASET_TILESET + _TILE

WMTS_KVP = KVP_PATH
WMTS_ROOT = REST_ROOT
WMTS_CAPABILITIES = REST_CAPABILITIES
WMTS_TILE = REST_TILE  # .../{TileCol}, then ".png" / ".pbf" / ".mvt"
WMTS_FEATURE_INFO = REST_FEATURE_INFO  # .../{TileCol}/{J}/{I}, then ".json" / ".html"

TILEJSON_VARIABLES = {"tileMatrix": "z", "tileRow": "y", "tileCol": "x"}

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What ``quote(…, safe="")`` leaves as it is: a value made only of these is its own segment.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
# RFC 3986 host (a registered name, IPv4 or a bracketed IPv6 literal) and an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def href(base: str, template: str, **values: object) -> str:
    """``base`` + ``template`` with each variable named in ``values`` filled in (quoted as
    one path segment); the others stay ``{variables}`` of a URL template for the client."""

    def fill(found: re.Match[str]) -> str:
        name = found[1]
        return segment(str(values[name])) if name in values else found[0]

    return base + _VARIABLE.sub(fill, template)


def segment(value: str) -> str:
    """``value`` percent-encoded as one path segment (``quote`` with nothing safe); most ids
    (digits, layer names) need nothing, and a match is cheaper than ``quote``'s work."""
    return value if _UNRESERVED.fullmatch(value) else quote(value, safe="")


def renamed(template: str, names: Mapping[str, str]) -> str:
    """``template`` with variables renamed to a client's convention (TileJSON's ``{z}``)."""
    return _VARIABLE.sub(lambda found: "{" + names.get(found[1], found[1]) + "}", template)


def matcher(
    template: str,
    syntax: Mapping[str, str],
    suffix: str = "",
    fixed: Mapping[str, str] | None = None,
) -> re.Pattern[str]:
    """The anchored regex of ``template`` for a raw ASGI path: each variable a named group
    of the regex ``syntax`` gives it, or the literal ``fixed`` gives it; ``suffix`` (a
    regex) after the last one. A variable given neither is an error, not a wildcard."""
    fixed = fixed or {}
    parts, position = ["^"], 0
    for found in _VARIABLE.finditer(template):
        parts.append(re.escape(template[position : found.start()]))
        name = found[1]
        parts.append(re.escape(fixed[name]) if name in fixed else f"(?P<{name}>{syntax[name]})")
        position = found.end()
    parts += [re.escape(template[position:]), suffix, "$"]
    return re.compile("".join(parts))


# The service an API key's quota counts a request against, by the path's first segment(s).
_TILE_ROOTS = (DATASET_TILESETS, TILE_MATRIX_SETS, WMTS_KVP)
_PROCESS_ROOTS = ("/processes", "/jobs")  # OGC API – Processes (ogc/routers/processes.py)
_TILE_PARTS = ("tiles", "map", STYLE.rsplit("/", 1)[1])  # below /collections/{collectionId}


def service_of(path: str) -> Service | None:
    """The key quota a request path counts against: ``tiles`` (vector, map and dataset
    tiles, tilesets, TileJSON, styles, tile matrix sets, WMTS), ``features`` (collections,
    items, queryables, search), ``processes`` (processes, jobs); None for the rest (the landing
    page, the API document, health, admin), which no quota counts."""
    root = "/" + path.split("/", 2)[1] if path.startswith("/") else path
    if root == COLLECTIONS:
        below = path[len(COLLECTIONS) + 1 :].split("/", 2)  # collectionId, what of it
        return "tiles" if len(below) > 1 and below[1] in _TILE_PARTS else "features"
    if root == SEARCH:  # a search reads features' names
        return "features"
    if root in _TILE_ROOTS:
        return "tiles"
    if root in _PROCESS_ROOTS:
        return "processes"
    return None


def base_url(public_url: str | None, scope: Scope) -> str:
    """The root of every link, without a trailing slash: ``ONEMAP_PUBLIC_URL`` when set, else
    the request's scheme, ``Host`` (the server's address when absent or malformed) and root
    path. Behind a proxy uvicorn has already put a trusted ``X-Forwarded-Proto`` in the
    scheme (``FORWARDED_ALLOW_IPS``); set ``ONEMAP_PUBLIC_URL`` for anything else."""
    if public_url:
        return public_url.rstrip("/")
    scheme = str(scope.get("scheme", "http"))
    netloc = _host_header(scope) or _server_netloc(scope, scheme)
    return f"{scheme}://{netloc}{scope.get('root_path', '')}".rstrip("/")


def route_path(scope: Scope) -> str:
    """The request's path below the app's root path (the part a template describes)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _host_header(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"host":
            host = bytes(value).decode("latin-1")
            found = _HOST.fullmatch(host)
            valid = found is not None and int(found["port"] or 0) < 65536
            return host if valid else None
    return None


def _server_netloc(scope: Scope, scheme: str) -> str:
    server = scope.get("server")
    if not server:
        return "localhost"
    host, port = server[0], server[1]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
