"""``/collections/{collectionId}/queryables`` (OGC API - Features Part 3)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from layers.cql2 import queryables_json_schema
from ogc.deps import BaseUrlDep, FeaturePlanDep
from ogc.html import pages as html
from ogc.http import paths
from ogc.http.negotiation import language, output_format

router = APIRouter(tags=["Features"])


@router.get(
    paths.QUERYABLES,
    summary="The properties a filter may name (JSON Schema)",
    response_class=Response,
)
def get_queryables(request: Request, plan: FeaturePlanDep, base: BaseUrlDep) -> Response:
    zh = language(request) == "zh"
    layer = plan.layer
    schema = queryables_json_schema(
        layer.id, plan.queryables, base, title=layer.title_zh if zh else layer.title_en
    )
    if output_format(request, ("json", "html")) == "html":
        return html.render(request, "queryables.html", title=schema.get("title", ""), schema=schema)
    return Response(orjson.dumps(schema), media_type="application/schema+json")
