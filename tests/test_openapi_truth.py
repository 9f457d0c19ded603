"""What fuzzing found, pinned by fast tests (ADR 0018): 405s name every method of a path,
a value PostgreSQL cannot hold is a 400, and /api declares what the service answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import PUBLISHER

PROBLEM = "application/problem+json"


def test_an_undeclared_method_is_a_405_naming_every_method_of_the_path(
    client: TestClient,
) -> None:
    items = client.request("TRACE", "/collections/gd-counties/items")
    assert items.status_code == 405
    assert items.headers["content-type"] == PROBLEM
    # GET and POST of this path are different routes: both are named, and HEAD with GET
    assert set(items.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "TRACE" in items.json()["detail"]
    listing = client.delete("/collections")
    assert listing.status_code == 405
    assert listing.headers["allow"] == "GET, HEAD"


def test_a_nul_character_the_route_does_not_check_is_a_400(client: TestClient) -> None:
    answer = client.get("/admin/keys", params={"department": "a\x00b"}, headers=PUBLISHER)
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert "NUL" in detail and "SELECT" not in detail


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def test_the_document_declares_problems_not_fastapis_422(client: TestClient) -> None:
    doc = client.get("/api").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for method, path, operation in _operations(doc):
        responses = operation["responses"]
        assert "400" in responses and "503" in responses, (method, path)
        edit = method != "get" and path.startswith("/collections/")  # a feature unfit: 422
        if path != "/ingest" and not path.startswith("/processes/") and not edit:
            assert "422" not in responses, (method, path)  # ingest and edit errors only
        for code, answer in responses.items():
            if code[0] in "45":
                assert PROBLEM in answer["content"], (method, path, code)


def test_the_document_names_the_media_types_served(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    items = paths["/collections/gd-counties/items"]["get"]["responses"]["200"]["content"]
    served = client.get("/collections/gd-counties/items?limit=1").headers["content-type"]
    assert served in items and "text/html" in items and "text/csv" in items
    caps = paths["/wmts/1.0.0/WMTSCapabilities.xml"]["get"]["responses"]["200"]["content"]
    assert list(caps) == ["application/xml"]
    assert client.get("/wmts/1.0.0/WMTSCapabilities.xml").headers["content-type"] in caps
    missing = paths["/collections/{collectionId}"]["get"]["responses"]
    assert "404" in missing and client.get("/collections/no-such").status_code == 404


def test_each_process_has_its_own_execution_with_its_inputs(client: TestClient) -> None:
    """The generic execution takes any object: a generator (schemathesis) reaches no process
    through it. Each process's own path states its inputs, in OpenAPI 3.0's dialect."""
    doc = client.get("/api").json()
    processes = client.get("/processes").json()["processes"]
    assert len(processes) > 20
    for process in processes:
        described = client.get(f"/processes/{process['id']}").json()["inputs"]
        operation = doc["paths"][f"/processes/{process['id']}/execution"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        inputs = body["properties"]["inputs"]
        assert set(inputs["properties"]) == set(described), process["id"]
        required = {name for name, entry in described.items() if entry["minOccurs"]}
        assert set(inputs.get("required", [])) == required, process["id"]
        assert set(operation["responses"]["200"]["content"]) >= {"application/geo+json"}
        assert not [n for n in _nodes(body) if _json_schema_only(n)], process["id"]
    monitoring = doc["paths"]["/processes/monitoring-series/execution"]["post"]
    values = monitoring["requestBody"]["content"]["application/json"]["schema"]
    pollutants = values["properties"]["inputs"]["properties"]["values"]
    assert set(pollutants["properties"]) == {"pm25", "pm10", "so2", "no2", "co", "o3"}
    assert pollutants["additionalProperties"] is False  # propertyNames' enum, as 3.0 says it


def _nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _nodes(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _nodes(value))]


def _json_schema_only(node: dict[str, Any]) -> bool:
    """A JSON Schema 2020-12 construct OpenAPI 3.0 does not have."""
    exclusive = [node.get(k) for k in ("exclusiveMinimum", "exclusiveMaximum")]
    return (
        any(v is not None and not isinstance(v, bool) for v in exclusive)
        or "examples" in node
        or "propertyNames" in node
        or {"type": "null"} in node.get("anyOf", [])
    )
