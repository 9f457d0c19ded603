"""Read any OneMap collection into a GeoDataFrame over OGC API – Features.

For analysts in notebooks: no web framework, only the standard library's HTTP client.
It lives beside the notebooks, not in ``spatial``: the analyses stay free of HTTP.
``bbox``, ``filter`` (CQL2) and ``crs`` are passed to the server; pages are followed
through their ``next`` links.

    frame = read_collection("http://127.0.0.1:8000", "gd-counties", bbox=(113, 22.5, 114, 23.5))
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

import geopandas as gpd
from pyproj import CRS

from layers.platform import CRS84_URI

CRS84 = CRS84_URI
PAGE_SIZE = 1000


def items_url(
    base_url: str,
    collection: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    filter: str | None = None,
    filter_lang: str = "cql2-text",
    crs: str | None = None,
    limit: int = PAGE_SIZE,
) -> str:
    params: dict[str, Any] = {"limit": limit, "f": "json"}
    if bbox is not None:
        params["bbox"] = ",".join(str(v) for v in bbox)
    if filter is not None:
        params["filter"] = filter
        params["filter-lang"] = filter_lang
    if crs is not None:
        params["crs"] = crs
    quoted = urllib.parse.quote(collection, safe="")
    return f"{base_url.rstrip('/')}/collections/{quoted}/items?{urllib.parse.urlencode(params)}"


def _get(url: str, timeout: float) -> tuple[dict[str, Any], str | None]:
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.loads(response.read())
        return body, response.headers.get("Content-Crs")


def _next(document: dict[str, Any]) -> str | None:
    return next((lk["href"] for lk in document.get("links", []) if lk.get("rel") == "next"), None)


def read_collection(
    base_url: str,
    collection: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    filter: str | None = None,
    filter_lang: str = "cql2-text",
    crs: str | None = None,
    max_features: int | None = None,
    timeout: float = 60.0,
) -> gpd.GeoDataFrame:
    """Every feature of ``collection`` matching ``bbox``/``filter``, in ``crs`` (default CRS84)."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    url: str | None = items_url(
        base_url, collection, bbox=bbox, filter=filter, filter_lang=filter_lang, crs=crs
    )
    features: list[dict[str, Any]] = []
    content_crs = None
    while url and (max_features is None or len(features) < max_features):
        document, content_crs = _get(url, timeout)
        features.extend(document.get("features", []))
        url = _next(document)
    if max_features is not None:
        features = features[:max_features]
    frame_crs = CRS.from_user_input(_crs_of(content_crs or f"<{crs or CRS84}>"))
    frame = gpd.GeoDataFrame.from_features(features, crs=frame_crs)
    if features and "id" in features[0]:
        frame.insert(0, "id", [f.get("id") for f in features])
    return frame


def _crs_of(header: str) -> str:
    uri = header.strip().strip("<>")
    if uri == CRS84:
        return "OGC:CRS84"
    if "/def/crs/EPSG/0/" in uri:
        return "EPSG:" + uri.rsplit("/", 1)[-1]
    return uri
