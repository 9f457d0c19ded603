"""``/collections/{collectionId}/queryables`` (OGC API - Features Part 3) and ``…/schema``
(Part 5: the features' properties, the roles of id and geometry, what an edit may send)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from layers.cql2 import queryables_json_schema
from layers.features.schema import feature_schema
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


@router.get(
    paths.SCHEMA,
    summary="The features' schema: returnables and receivables (JSON Schema)",
    response_class=Response,
)
def get_schema(request: Request, plan: FeaturePlanDep, base: BaseUrlDep) -> Response:
    layer = plan.layer
    title = layer.title_zh if language(request) == "zh" else layer.title_en
    schema = feature_schema(layer, plan.queryables, base, title=title)
    return Response(orjson.dumps(schema), media_type="application/schema+json")
