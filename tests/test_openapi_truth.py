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
