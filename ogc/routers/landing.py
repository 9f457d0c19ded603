"""Landing page and conformance declaration."""

from __future__ import annotations

from fastapi import APIRouter

from ogc.deps import BaseUrlDep, SettingsDep
from ogc.links import GEOJSON, HTML, JSON, OPENAPI, link

router = APIRouter(tags=["Capabilities"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]


@router.get("/", summary="Landing page")
def landing_page(settings: SettingsDep, base: BaseUrlDep) -> dict[str, object]:
    return {
        "title": settings.title,
        "description": settings.description,
        "links": [
            link(f"{base}/", "self", JSON, "This document"),
            link(f"{base}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link(f"{base}/api.html", "service-doc", HTML, "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "The published layers"),
            link(f"{base}/healthz", "status", JSON, "Liveness"),
            link(f"{base}/readyz", "status", JSON, "Readiness"),
        ],
    }


@router.get("/conformance", summary="Conformance classes this service implements")
def conformance() -> dict[str, list[str]]:
    return {"conformsTo": CONFORMANCE}


__all__ = ["CONFORMANCE", "GEOJSON", "router"]
