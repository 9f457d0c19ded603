"""Output format and language negotiation, and conditional GETs (ETag / 304).

Validators come from the layer version, so any publish or edit (which bumps
the version) changes them; the query string and negotiated format are part of
the tag. When access control arrives, the caller's scope joins the key here.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request
from fastapi.responses import Response

from layers.catalog import Layer
from layers.errors import InvalidParameter

FORMATS = {
    "json": "application/geo+json",
    "geojson": "application/geo+json",
    "html": "text/html",
    "jsonseq": "application/geo+json-seq",
    "geojsonseq": "application/geo+json-seq",
    "csv": "text/csv",
}
_ACCEPTED = {
    "application/geo+json": "json",
    "application/json": "json",
    "text/html": "html",
    "application/geo+json-seq": "jsonseq",
    "application/json-seq": "jsonseq",
    "text/csv": "csv",
}


def output_format(request: Request, allowed: tuple[str, ...] = tuple(FORMATS)) -> str:
    """``f`` wins; otherwise the first Accept type we serve; otherwise JSON."""
    requested = request.query_params.get("f")
    if requested is not None:
        name = requested.lower()
        if name not in FORMATS or name not in allowed:
            raise InvalidParameter(
                f"f={requested!r} is not offered here; use one of: {', '.join(allowed)}"
            )
        return "json" if name == "geojson" else "jsonseq" if name == "geojsonseq" else name
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        accepted = _ACCEPTED.get(media)
        if accepted is not None and accepted in allowed:
            return accepted
    return "json"


def language(request: Request) -> str:
    """``lang=zh|en``, else Accept-Language; Chinese by default."""
    chosen = request.query_params.get("lang") or ""
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    return "zh"


def layer_etag(layer: Layer, request: Request, output: str) -> str:
    """A weak tag of (layer, version, query, format, language)."""
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    key = f"{layer.id}\x00{layer.version}\x00{request.url.path}\x00{query}\x00{output}"
    if output == "html":
        key += "\x00" + language(request)
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def validators(layer: Layer, request: Request, output: str) -> dict[str, str]:
    modified = layer.version_created_at.astimezone(UTC)
    return {
        "ETag": layer_etag(layer, request, output),
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Vary": "Accept, Accept-Language",
    }


def not_modified(request: Request, headers: dict[str, str], modified: datetime) -> Response | None:
    """A 304 when the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        wanted = {t.strip().removeprefix("W/") for t in tags.split(",")}
        if "*" in wanted or headers["ETag"].removeprefix("W/") in wanted:
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
