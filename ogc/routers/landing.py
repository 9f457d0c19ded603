"""Landing page and conformance declaration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, Response

from layers.cql2 import conformance_classes
from layers.crs import PART2_CONFORMANCE, ServedCrs
from layers.errors import NotFound
from ogc.deps import BaseUrlDep, CallerDep, SettingsDep, SnapshotDep, StateDep, listed_layers
from ogc.html import pages as html
from ogc.http.links import GEOJSON, HTML, JSON, OPENAPI, link
from ogc.http.negotiation import language, not_modified, output_format
from ogc.http.policy import page_policy
from ogc.openapi.v30 import openapi_media_type

router = APIRouter(tags=["Capabilities"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    PART2_CONFORMANCE,  # not with ONEMAP_CRS_BY_REFERENCE=false (declared_classes)
    # GML simple features level 0 and JSON-FG answers of items (ogc/common/gml.py, jsonfg.py)
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/gmlsf0",
    "http://www.opengis.net/spec/json-fg-1/0.2/conf/core",
    "http://www.opengis.net/spec/json-fg-1/1.0/conf/api",
    *conformance_classes(),
    # OGC API - Features Part 4 / Common Part 5, editable collections (ogc/routers/items_write.py)
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/optimistic-locking-timestamps",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/handling",
    "http://www.opengis.net/spec/ogcapi-common-5/1.0/conf/return-resource-representation-in-response",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    # Returnables and receivables: /collections/{id}/schema (ogc/routers/queryables.py), by
    # the URI Part 4's draft names and by Features Part 5's
    "http://www.opengis.net/spec/ogcapi-common-3/1.0/conf/returnables-and-receivables",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/returnables-and-receivables",
    # OGC API - Tiles 1.0 (ogc/routers/tiles.py)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/collections-selection",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    # OGC API - Processes 1.0 (ogc/routers/processes.py)
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
]


@router.get("/", summary="Landing page", response_model=None)
def landing_page(
    request: Request, settings: SettingsDep, base: BaseUrlDep
) -> dict[str, object] | Response:
    document: dict[str, Any] = {
        "title": settings.title,
        "description": settings.description,
        "links": [
            link(f"{base}/", "self", JSON, "This document"),
            link(f"{base}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link(f"{base}/api.html", "service-doc", HTML, "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "The published layers"),
            link(
                f"{base}/tileMatrixSets",
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                JSON,
                "Tile matrix sets",
            ),
            link(
                f"{base}/tiles",
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                JSON,
                "Vector tiles of several collections",
            ),
            link(
                f"{base}/wmts/1.0.0/WMTSCapabilities.xml",
                "related",
                "application/xml",
                "WMTS 1.0.0 capabilities",
            ),
            link(
                f"{base}/processes",
                "http://www.opengis.net/def/rel/ogc/1.0/processes",
                JSON,
                "Analyses (OGC API - Processes)",
            ),
            link(
                f"{base}/jobs",
                "http://www.opengis.net/def/rel/ogc/1.0/job-list",
                JSON,
                "Jobs of asynchronous analyses",
            ),
            link(f"{base}/healthz", "status", JSON, "Liveness"),
            link(f"{base}/readyz", "status", JSON, "Readiness"),
            link(f"{base}/?f=html", "alternate", HTML, "This document as HTML"),
        ],
    }
    if output_format(request, ("json", "html")) == "html":
        title = settings.title if language(request) == "zh" else "OneMap — Guangdong one map"
        return html.render(
            request,
            "landing.html",
            title=title,
            description=settings.description,
            links=[x for x in document["links"] if x["rel"] not in ("self", "alternate")],
        )
    return document


@router.get(
    "/conformance", summary="Conformance classes this service implements", response_model=None
)
def conformance(request: Request, settings: SettingsDep) -> dict[str, list[str]] | Response:
    classes = declared_classes(settings.served_crs)
    if output_format(request, ("json", "html")) == "html":
        title = "符合性声明" if language(request) == "zh" else "Conformance"
        return html.render(request, "conformance.html", title=title, classes=classes)
    return {"conformsTo": classes}


def declared_classes(served: ServedCrs) -> list[str]:
    """The conformance declaration: Part 2's class only where other CRSs are served."""
    return [uri for uri in CONFORMANCE if served.by_reference or uri != PART2_CONFORMANCE]


@router.get("/api", summary="The API definition (OpenAPI 3.0)", response_class=Response)
async def api_definition(
    request: Request, state: StateDep, snapshot: SnapshotDep, caller: CallerDep, base: BaseUrlDep
) -> Response:
    """JSON as ``application/vnd.oai.openapi+json;version=3.0``; a browser gets the HTML view."""
    if output_format(request, ("json", "html")) == "html":
        return api_html(state.settings.title, base)
    if state.openapi is None:
        raise RuntimeError("create_app did not install the OpenAPI documents")
    catalog = snapshot.catalog
    rendered = state.openapi.rendered(snapshot, caller.scope, listed_layers(catalog, caller))
    media_type = openapi_media_type(request.headers.get("accept", ""))
    headers = {"ETag": rendered.etag(media_type), "Vary": "Accept"}
    if catalog.loaded_at is not None:
        unchanged = not_modified(request, headers, catalog.loaded_at)
        if unchanged is not None:
            return unchanged
    return Response(rendered.body, media_type=media_type, headers=headers)


@router.get("/api.html", summary="The API documentation (Swagger UI)", response_class=Response)
async def api_documentation(settings: SettingsDep, base: BaseUrlDep) -> Response:
    return api_html(settings.title, base)


# Swagger UI's files are served from the package, not a CDN: government networks (政务网)
# often reach no internet, and a browser should fetch nothing from a third party.
SWAGGER_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


def api_html(title: str, base: str) -> Response:
    assets = f"{base}/assets/swagger-ui"
    page = get_swagger_ui_html(
        openapi_url=f"{base}/api?f=json",
        title=f"{title} — API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
    )
    # the page starts Swagger UI with an inline script: the CSP allows that one by its hash
    inline = tuple(INLINE_SCRIPT.findall(bytes(page.body).decode()))
    page.headers["Content-Security-Policy"] = page_policy(scripts=inline)
    return page


INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@router.get("/assets/swagger-ui/{name}", include_in_schema=False)
async def swagger_asset(name: str) -> FileResponse:
    media_type = SWAGGER_ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no such file: {name}")
    headers = {"Cache-Control": "public, max-age=86400"}
    return FileResponse(_SWAGGER_DIR / name, media_type=media_type, headers=headers)


__all__ = ["CONFORMANCE", "GEOJSON", "router"]
