"""Process summaries and descriptions (OGC API – Processes 1.0) from the analysis registry."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from ogc.http.links import JSON, link
from spatial.registry import Analysis

JOB_CONTROL = ["sync-execute", "async-execute", "dismiss"]
TRANSMISSION = ["value", "reference"]


def inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its definition (one self-contained doc).

    What stands beside a ``$ref`` (the field's own description and default) wins over the
    definition's: a layer input's description is the field's, not its class docstring."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        own = {k: inline_refs(v, defs) for k, v in schema.items() if k not in ("$defs", "$ref")}
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            definition = inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
            definition.pop("title", None)  # the class name ("LayerInput"), not the input's
            return definition | own
        return own
    if isinstance(schema, list):
        return [inline_refs(item, defs) for item in schema]
    return schema


def input_descriptions(analysis: Analysis[Any]) -> dict[str, Any]:
    schema = analysis.input_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    described = {}
    fields = analysis.inputs.model_fields
    for name, prop in schema.get("properties", {}).items():
        prop = inline_refs(prop, defs)
        if name not in required and "default" not in prop:  # a default_factory's value
            default = fields[name].get_default(call_default_factory=True)
            prop["default"] = to_jsonable_python(default)
        described[name] = {
            "title": prop.pop("title", None) or name.replace("_", " ").capitalize(),
            "description": prop.get("description", ""),
            "schema": prop,
            "minOccurs": 1 if name in required else 0,
            "maxOccurs": 1,
        }
    return described


def output_schema(kind: str) -> dict[str, Any]:
    if kind == "features":
        return {
            "type": "object",
            "contentMediaType": "application/geo+json",
            "description": "GeoJSON FeatureCollection (lon/lat, CGCS2000)",
        }
    if kind == "raster":
        return {
            "type": "string",
            "contentEncoding": "binary",
            "contentMediaType": "image/tiff; application=geotiff",
        }
    if kind == "html":
        return {"type": "string", "contentMediaType": "text/html"}
    return {"type": ["object", "array", "number", "integer", "string", "boolean", "null"]}


def process_summary(analysis: Analysis[Any], base: str) -> dict[str, Any]:
    href = f"{base}/processes/{analysis.id}"
    return {
        "id": analysis.id,
        "title": analysis.title,
        "description": analysis.description,
        "version": analysis.version,
        "keywords": [analysis.domain, *analysis.keywords],
        "jobControlOptions": JOB_CONTROL,
        "outputTransmission": TRANSMISSION,
        "links": [
            link(href, "self", JSON, analysis.title),
            link(
                f"{href}/execution",
                "http://www.opengis.net/def/rel/ogc/1.0/execute",
                JSON,
                "Execute",
            ),
        ],
    }


def process_description(analysis: Analysis[Any], base: str) -> dict[str, Any]:
    outputs = {
        name: {
            "title": spec.title,
            "description": spec.description,
            "schema": output_schema(spec.kind),
        }
        for name, spec in analysis.outputs.items()
    }
    return process_summary(analysis, base) | {
        "inputs": input_descriptions(analysis),
        "outputs": outputs,
        "onemap:publish": {
            "description": 'Add {"publish": {"collection": id, "output": name}} to the '
            "execute request to keep a features or raster output as a new layer with lineage."
        },
    }
