"""The route class of a request: the few kinds of work the metrics and logs tell apart.

Classes are by path — what the work costs, not which route answered — plus two that only
the answer knows: ``tiles-cached`` (the fast layer answered from its cache; it marks the
scope, ``mark_cached_tile``) and ``html`` (any page, whatever its path). The set is small
and fixed, so no request can add a label value of its own.
"""

from __future__ import annotations

from ogc.http.asgi_types import Scope

ROUTE_CLASSES = (
    "tiles-cached",
    "tiles",
    "items",
    "feature",
    "search",
    "wmts",
    "processes",
    "admin",
    "html",
    "health",
    "other",
)
ROUTE_KEY = "onemap.route_class"  # set in the scope by who knows better than the path
TILES_CACHED = "tiles-cached"
HTML = "html"
_BY_FIRST_SEGMENT = {
    "tiles": "tiles",
    "tileMatrixSets": "tiles",
    "wmts": "wmts",
    "search": "search",
    "processes": "processes",
    "jobs": "processes",
    "admin": "admin",
    "metrics": "admin",
    "healthz": "health",
    "readyz": "health",
    "viewer": HTML,
}


def route_class(path: str) -> str:
    """The class of a request for ``path`` (before its answer is known)."""
    segments = path.strip("/").split("/")
    if segments[0] != "collections":
        return _BY_FIRST_SEGMENT.get(segments[0], "other")
    if len(segments) < 3:
        return "other"  # the listing and a collection's description
    if segments[2] == "items":
        return "items" if len(segments) == 3 else "feature"
    if segments[2] in ("tiles", "map"):
        return "tiles"
    return "other"  # queryables, schema, style, batch


def mark_cached_tile(scope: Scope) -> None:
    """The fast layer answered this request from the tile cache."""
    scope[ROUTE_KEY] = TILES_CACHED
