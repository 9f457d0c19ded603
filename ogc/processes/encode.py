"""Analysis results as bytes: GeoJSON for features, GeoTIFF for rasters, JSON for values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from layers.errors import InvalidParameter
from layers.platform import STORAGE_SRID
from spatial.registry import MEDIA_TYPES, Analysis
from spatial.results import AnalysisResult

GEOJSON = MEDIA_TYPES["features"]
GEOTIFF = MEDIA_TYPES["raster"]
JSON = MEDIA_TYPES["value"]


@dataclass(frozen=True)
class EncodedOutput:
    output_id: str
    media_type: str
    body: bytes

    @property
    def inline(self) -> bool:
        return self.media_type != GEOTIFF


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


def selected_outputs(analysis: Analysis[Any], requested: Iterable[str] | None) -> list[str]:
    if not requested:
        return list(analysis.outputs)
    unknown = [o for o in requested if o not in analysis.outputs]
    if unknown:
        raise InvalidParameter(
            f"{analysis.id} has no output {', '.join(unknown)}; outputs: {list(analysis.outputs)}"
        )
    return list(requested)


def encode(result: AnalysisResult, wanted: Iterable[str]) -> list[EncodedOutput]:
    encoded = []
    for output_id in wanted:
        if output_id in result.features:
            text = result.features[output_id].to_crs(STORAGE_SRID).to_json(na="null", default=str)
            encoded.append(EncodedOutput(output_id, GEOJSON, text.encode()))
        elif output_id in result.rasters:
            encoded.append(
                EncodedOutput(output_id, GEOTIFF, result.rasters[output_id].to_geotiff())
            )
        elif output_id in result.values:
            encoded.append(EncodedOutput(output_id, JSON, dumps(result.values[output_id])))
    return encoded


def results_document(outputs: Iterable[EncodedOutput], job_href: str) -> dict[str, Any]:
    """The OGC results document: inline values, GeoTIFFs by reference."""
    document: dict[str, Any] = {}
    for out in outputs:
        if out.inline:
            document[out.output_id] = orjson.loads(out.body)
        else:
            document[out.output_id] = {
                "href": f"{job_href}/results/{out.output_id}",
                "type": out.media_type,
            }
    return document
