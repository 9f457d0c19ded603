"""Link objects and media types shared by the routers."""

from __future__ import annotations

from urllib.parse import urlencode

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


def link(href: str, rel: str, media_type: str = JSON, title: str | None = None) -> dict[str, str]:
    item = {"href": href, "rel": rel, "type": media_type}
    if title:
        item["title"] = title
    return item


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
