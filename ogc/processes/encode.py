"""Analysis results as bytes: GeoJSON for features, GeoTIFF for rasters, JSON for values,
HTML for reports."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from layers.errors import InvalidParameter
from layers.platform import STORAGE_SRID
from ogc.http.policy import page_policy
from spatial.registry import MEDIA_TYPES, Analysis
from spatial.results import AnalysisResult

GEOJSON = MEDIA_TYPES["features"]
GEOTIFF = MEDIA_TYPES["raster"]
JSON = MEDIA_TYPES["value"]
HTML_PAGE = MEDIA_TYPES["html"]
INLINE_STYLE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)  # in pages an analysis wrote


@dataclass(frozen=True)
class EncodedOutput:
    output_id: str
    media_type: str
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        """An HTML page's own Content-Security-Policy: its inline stylesheet by hash (the
        strictest policy every other HTML answer gets would drop the print styles)."""
        if self.media_type != HTML_PAGE:
            return {}
        styles = tuple(s.decode() for s in INLINE_STYLE.findall(self.body))
        return {"Content-Security-Policy": page_policy(styles=styles)}

    @property
    def inline(self) -> bool:
        """JSON goes into a results document as it is; GeoTIFFs and HTML pages by reference."""
        return self.media_type in (GEOJSON, JSON)


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
        elif output_id in result.pages:
            encoded.append(EncodedOutput(output_id, HTML_PAGE, result.pages[output_id].encode()))
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
