"""``/collections/{collectionId}/items``: features as GeoJSON rendered by PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from layers.catalog import Layer
from layers.errors import InvalidParameter, NotFound
from layers.features import ItemsQuery, count_sql, feature_sql, items_page_sql
from ogc.deps import BaseUrlDep, LayerDep, PoolDep, SettingsDep
from ogc.links import GEOJSON, JSON, link, with_query

router = APIRouter(tags=["Features"])


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidParameter(f"bbox must be 4 comma-separated numbers, got '{text}'") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidParameter(f"bbox must have 4 or 6 numbers, got {len(values)}")
    minx, miny, maxx, maxy = values
    if miny > maxy or not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidParameter("bbox latitudes must lie in -90..90 with miny <= maxy")
    return (minx, miny, maxx, maxy)


@router.get("/collections/{collectionId}/items", summary="Features of a collection")
async def get_items(
    layer: LayerDep,
    pool: PoolDep,
    settings: SettingsDep,
    base: BaseUrlDep,
    limit: Annotated[int, Query(ge=1, description="Page size; above the maximum is clamped")] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in CRS84")] = None,
) -> Response:
    query = ItemsQuery(limit=min(limit, settings.max_limit), offset=offset, bbox=parse_bbox(bbox))
    statement, params = items_page_sql(layer, query)
    async with pool.connection() as conn:
        row = await (await conn.execute(statement, params)).fetchone()
        matched = await _count(conn, layer, query)
    assert row is not None
    features_text, returned = row
    head = _page_head(layer, base, query, bbox, matched, int(returned))
    body = head[:-1] + b',"features":' + features_text.encode() + b"}"
    return Response(
        body,
        media_type=GEOJSON,
        headers={"Content-Crs": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"},
    )


async def _count(conn: Any, layer: Layer, query: ItemsQuery) -> int:
    counted = count_sql(layer, query)
    if counted is None:
        return layer.feature_count  # exact for the current version, known at ingest
    row = await (await conn.execute(*counted)).fetchone()
    return int(row[0])


def _page_head(
    layer: Layer, base: str, query: ItemsQuery, bbox: str | None, matched: int, returned: int
) -> bytes:
    href = f"{base}/collections/{layer.id}/items"
    params: dict[str, object] = {"limit": query.limit, "bbox": bbox}
    links = [
        link(with_query(href, params | {"offset": query.offset or None}), "self", GEOJSON),
        link(f"{base}/collections/{layer.id}", "collection", JSON, layer.title),
    ]
    if query.offset + returned < matched:
        links.append(
            link(with_query(href, params | {"offset": query.offset + returned}), "next", GEOJSON)
        )
    if query.offset > 0:
        previous = max(query.offset - query.limit, 0) or None
        links.append(link(with_query(href, params | {"offset": previous}), "prev", GEOJSON))
    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": returned,
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links,
        }
    )


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature")
async def get_feature(
    layer: LayerDep,
    pool: PoolDep,
    base: BaseUrlDep,
    feature_id: Annotated[str, Path(alias="featureId")],
) -> Response:
    if not feature_id.isdigit():
        raise NotFound(f"feature '{feature_id}' does not exist in '{layer.id}' (ids are integers)")
    async with pool.connection() as conn:
        row = await (await conn.execute(feature_sql(layer), [int(feature_id)])).fetchone()
    if row is None:
        raise NotFound(f"feature {feature_id} does not exist in collection '{layer.id}'")
    href = f"{base}/collections/{layer.id}"
    links = orjson.dumps(
        [
            link(f"{href}/items/{feature_id}", "self", GEOJSON),
            link(href, "collection", JSON, layer.title),
        ]
    )
    body = row[0].encode()[:-1] + b',"links":' + links + b"}"
    return Response(body, media_type=GEOJSON)
