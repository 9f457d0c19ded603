"""Process descriptions (OGC API – Processes 1.0, /req/core/process-description) carry each
input's title, description and the model's default and bounds — layer and raster inputs
included (issue 17)."""

from __future__ import annotations

import typing
from typing import Any

import annotated_types
from fastapi.testclient import TestClient

from spatial.analyses import DEFAULT_REGISTRY

BOUNDS = {  # annotated_types constraint -> JSON Schema keyword
    annotated_types.Ge: ("ge", "minimum"),
    annotated_types.Gt: ("gt", "exclusiveMinimum"),
    annotated_types.Le: ("le", "maximum"),
    annotated_types.Lt: ("lt", "exclusiveMaximum"),
}


def _members(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and, for an optional input, its non-null alternatives."""
    return [schema, *[m for m in schema.get("anyOf", []) if m.get("type") != "null"]]


def _keyword(schema: dict[str, Any], keyword: str) -> Any:
    return next((m[keyword] for m in _members(schema) if keyword in m), None)


def test_every_input_is_described_with_the_models_default_and_bounds(
    client: TestClient,
) -> None:
    checked = 0
    for analysis in DEFAULT_REGISTRY:
        inputs = client.get(f"/processes/{analysis.id}").json()["inputs"]
        fields = analysis.inputs.model_fields
        assert set(inputs) == set(fields), analysis.id
        defaults = analysis.inputs.model_construct().model_dump(mode="json")  # unvalidated
        for name, field in fields.items():
            described, where = inputs[name], f"{analysis.id}.{name}"
            assert described["title"] and described["description"], where
            assert described["description"] == (field.description or ""), where
            assert described["minOccurs"] == (1 if field.is_required() else 0), where
            if not field.is_required():
                assert described["schema"]["default"] == defaults[name], where
                checked += 1
            for constraint in field.metadata:
                attribute, keyword = BOUNDS.get(type(constraint), (None, None))
                if keyword is not None:
                    assert _keyword(described["schema"], keyword) == getattr(
                        constraint, attribute
                    ), (where, keyword)
            if typing.get_origin(field.annotation) is typing.Literal:
                assert _keyword(described["schema"], "enum") == list(
                    typing.get_args(field.annotation)
                ), where
    assert checked > 30  # the defaults compared are many, not none


def test_a_layer_inputs_own_description_and_default_survive(client: TestClient) -> None:
    inputs = client.get("/processes/zonal-statistics").json()["inputs"]
    zones = inputs["zones"]
    assert zones["description"] == "Polygon layer"  # the field's, not LayerInput's docstring
    assert zones["title"] == "Zones"
    assert zones["schema"]["default"] == {
        "collection": "gd-counties",
        "adcode": None,
        "filter": None,
        "features": None,
    }
    assert set(zones["schema"]["properties"]) == {"collection", "adcode", "filter", "features"}
    raster = inputs["raster"]
    assert "gd-dem" in raster["description"] and raster["minOccurs"] == 1
    assert raster["schema"]["properties"]["collection"]["examples"] == ["gd-dem"]
    listed = client.get("/processes/affected-area").json()["inputs"]["layers"]
    assert listed["schema"]["default"] == []  # a default_factory's value
    assert client.get("/processes/interpolation").json()["inputs"]["method"]["schema"]["enum"] == [
        "idw",
        "thin_plate_spline",
    ]
