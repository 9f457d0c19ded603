"""Output format and language negotiation, and conditional GETs (ETag / 304).

Validators come from the layer version, so any publish or edit (which bumps
the version) changes them; the query string and negotiated format are part of
the tag, and so is the caller's scope when it is not the public's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request
from fastapi.responses import Response

from layers.access.caller import PUBLIC_SCOPE
from layers.catalog import Layer
from layers.errors import InvalidParameter
from ogc.http.conditional import first_accepted, matches, weak_etag

FORMATS = {
    "json": "application/geo+json",
    "geojson": "application/geo+json",
    "html": "text/html",
    "jsonseq": "application/geo+json-seq",
    "geojsonseq": "application/geo+json-seq",
    "csv": "text/csv",
    "jsonfg": "application/fg+json",
    "gml": "application/gml+xml",
}
ACCEPTED = {
    "application/geo+json": "json",
    "application/json": "json",
    "text/html": "html",
    "application/geo+json-seq": "jsonseq",
    "application/json-seq": "jsonseq",
    "text/csv": "csv",
    "application/fg+json": "jsonfg",
    "application/gml+xml": "gml",
}
# ``profile=`` (OGC profile negotiation by query parameter): JSON-FG is a GeoJSON profile.
PROFILE_JSONFG = "http://www.opengis.net/def/profile/OGC/0/jsonfg"
PROFILE_RFC7946 = "http://www.opengis.net/def/profile/OGC/0/rfc7946"
PROFILES = {
    "jsonfg": "jsonfg",
    PROFILE_JSONFG: "jsonfg",
    "rfc7946": "json",
    PROFILE_RFC7946: "json",
}


def output_format(request: Request, allowed: tuple[str, ...] = tuple(FORMATS)) -> str:
    """``f`` wins; then ``profile`` (a JSON output's profile); otherwise the first Accept
    type we serve; otherwise JSON."""
    chosen = _chosen_format(request, allowed)
    profile = request.query_params.get("profile")
    if profile is None or chosen not in ("json", "jsonfg"):
        return chosen
    by_profile = PROFILES.get(profile.strip("<> "))
    if by_profile is None or by_profile not in allowed:
        offered = [p for p, f in PROFILES.items() if f in allowed and "/" not in p]
        raise InvalidParameter(
            f"profile={profile[:80]!r} is not offered here; use one of: {', '.join(offered)}"
        )
    return by_profile


def _chosen_format(request: Request, allowed: tuple[str, ...]) -> str:
    requested = request.query_params.get("f")
    if requested is not None:
        name = requested.lower()
        if name not in FORMATS or name not in allowed:
            raise InvalidParameter(
                f"f={requested!r} is not offered here; use one of: {', '.join(allowed)}"
            )
        return "json" if name == "geojson" else "jsonseq" if name == "geojsonseq" else name
    return first_accepted(request.headers.get("accept", ""), ACCEPTED, allowed) or "json"


def language(request: Request) -> str:
    """``lang=zh|en``, else Accept-Language; Chinese by default."""
    chosen = request.query_params.get("lang") or ""
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    return "zh"


def layer_etag(layer: Layer, request: Request, output: str, scope: str = PUBLIC_SCOPE) -> str:
    """A weak tag of (layer, version, query, format, language) and, for a caller who sees
    more or less than the public, their scope: one URL's answers to two scopes differ, so
    a copy made for one is never revalidated (304) for the other."""
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    parts = [layer.id, str(layer.version), request.url.path, query, output]
    if scope != PUBLIC_SCOPE:
        parts.append(scope)
    return weak_etag(*parts, *([language(request)] if output == "html" else []))


def validators(
    layer: Layer, request: Request, output: str, scope: str = PUBLIC_SCOPE
) -> dict[str, str]:
    modified = layer.version_created_at.astimezone(UTC)
    return {
        "ETag": layer_etag(layer, request, output, scope),
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Vary": "Accept, Accept-Language",
    }


def not_modified(request: Request, headers: dict[str, str], modified: datetime) -> Response | None:
    """A 304 when the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        if matches(tags, headers["ETag"]):
            return Response(status_code=304, headers=headers)
        return None
    since = request.headers.get("if-modified-since")
    if since:
        try:
            if modified.astimezone(UTC).replace(microsecond=0) <= parsedate_to_datetime(since):
                return Response(status_code=304, headers=headers)
        except (TypeError, ValueError):
            return None
    return None
