"""The sweep beyond the URL's parameters: WMTS KVP keys, request headers, and hostile JSON
bodies on every operation that reads one (process inputs, admin, edits)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PUBLISHER
from tests.hostile.operations import VALID, Operation, operations
from tests.hostile.payloads import PAYLOADS, message_of, problems, refusal_problems

WMTS_GETTILE = {
    "SERVICE": "WMTS",
    "REQUEST": "GetTile",
    "VERSION": "1.0.0",
    "LAYER": "gd-counties",
    "STYLE": "default",
    "FORMAT": "image/png",
    "TILEMATRIXSET": "WebMercatorQuad",
    "TILEMATRIX": "6",
    "TILEROW": "27",
    "TILECOL": "52",
}
WMTS_INFO = WMTS_GETTILE | {
    "REQUEST": "GetFeatureInfo",
    "I": "128",
    "J": "128",
    "INFOFORMAT": "application/json",
}
HEADERS = (
    "Accept",
    "Accept-Language",
    "Accept-Encoding",
    "If-None-Match",
    "If-Modified-Since",
    "If-Match",
    "Origin",
    "Referer",
    "X-OneMap-Key",
    "Authorization",
    "Prefer",
    "Content-Crs",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
)
HEADER_TARGETS = (
    "/collections/gd-counties/items?limit=2",
    "/collections/gd-counties/items/1",
    "/collections/gd-counties/tiles/WebMercatorQuad/6/27/52",
)
HEADER_PAYLOADS = (  # the kinds a header can carry (no NUL, CR or LF: the HTTP parser's)
    "sql-quote",
    "traversal",
    "utf8-invalid",
    "control-crlf",
    "html",
    "deep-nesting",
    "huge-number",
    "oversized",
)
BODIES: dict[str, bytes] = {
    "not-json": b"{'inputs': 1",
    "invalid-utf8": b'{"inputs": {"a": "\xff\xfe"}, "department": "\xc3\x28"}',
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nan": b'{"inputs": {"distance_m": NaN}, "version": Infinity}',
    "huge-number": b'{"inputs": {"distance_m": 1e999999}, "version": 1e999999}',
    "nul-strings": orjson.dumps({"inputs": {"sites": {"collection": "a\x00b"}}, "url": "a\x00"}),
    "lone-surrogate": b'{"inputs": {"sites": {"collection": "\\ud800"}}, "department": "\\udfff"}',
    "sql-strings": orjson.dumps(
        {
            "inputs": {"sites": {"collection": "gd-counties", "filter": "1=1; DROP TABLE x"}},
            "department": "' OR '1'='1",
            "layer": "gd-counties'; --",
            "url": "http://127.0.0.1/'; DROP TABLE x; --",
            "version": "1; DELETE FROM onemap.layers",
        }
    ),
    "traversal-strings": orjson.dumps(
        {"inputs": {"dem": {"collection": "../../../../etc/passwd"}}, "url": "file:///etc/passwd"}
    ),
    "wrong-types": orjson.dumps({"inputs": [1, 2], "department": {"a": 1}, "version": [None]}),
    "oversized-string": orjson.dumps({"inputs": {"x": "x" * 2_000_000}, "name": "x" * 2_000_000}),
}
# Bodies that could be read as valid settings of a shared sample layer are sent to a layer
# that does not exist instead.
NOT_ON_SAMPLE_LAYERS = {
    "PATCH /admin/layers/{collectionId}",
    "PUT /collections/{collectionId}/editing",
}


def _body_url(op: Operation, valid: dict[str, str]) -> str:
    if op.name in NOT_ON_SAMPLE_LAYERS:
        return op.template.replace("{collectionId}", "no-such-layer-for-hostile-bodies")
    return op.url(valid=valid)


@pytest.mark.parametrize(
    "request_kind", [WMTS_GETTILE, WMTS_INFO], ids=["GetTile", "GetFeatureInfo"]
)
def test_every_wmts_kvp_key_refuses_hostile_values(
    hostile: TestClient, forbidden: tuple[str, ...], request_kind: dict[str, str]
) -> None:
    assert hostile.get("/wmts", params=request_kind).status_code == 200  # the sweep's base
    failures = []
    for key in request_kind:
        for name, value in PAYLOADS.items():
            query = "&".join(f"{k}={value if k == key else v}" for k, v in request_kind.items())
            response = hostile.get(f"/wmts?{query}")
            if key == "REQUEST" and _operation_not_supported(response):
                continue
            if found := refusal_problems(response, forbidden):
                failures.append(f"{key}={name}: {found} — {response.text[:160]}")
    assert not failures, "\n".join(failures[:40])


def _operation_not_supported(response: httpx.Response) -> bool:
    """An unknown WMTS operation: OWS Common's OperationNotSupported, a 501 by that standard
    (the one 5xx a hostile value may get), with its report."""
    report = 'exceptionCode="OperationNotSupported"' in response.text
    return response.status_code == 501 and report and bool(message_of(response))


def test_hostile_request_headers_are_answered_without_errors_or_leaks(
    hostile: TestClient, forbidden: tuple[str, ...]
) -> None:
    failures = []
    for target in HEADER_TARGETS:
        for header in HEADERS:
            for name in HEADER_PAYLOADS:
                value = PAYLOADS[name]
                raw = bytes(b for b in unquote_to_bytes(value) if b not in b"\r\n\x00")
                response = hostile.get(target, headers={header: raw})
                found = problems(response, forbidden)
                if found:
                    failures.append(f"{target} {header}={name}: {found} — {response.text[:160]}")
    assert not failures, "\n".join(failures[:40])


def _body_operations(hostile: TestClient) -> list[Operation]:
    api = hostile.get("/api?f=json", headers=PUBLISHER).json()
    reading = [op for op in operations(api) if op.method in ("POST", "PUT", "PATCH")]
    return [op for op in reading if op.template != "/ingest"]  # multipart: tests/ingest


def test_every_operation_reading_a_body_refuses_hostile_json(
    hostile: TestClient, forbidden: tuple[str, ...], valid_values: dict[str, str]
) -> None:
    body_operations = _body_operations(hostile)
    assert len(body_operations) >= 12, [op.name for op in body_operations]
    failures = []
    for op in body_operations:
        for name, body in BODIES.items():
            headers = PUBLISHER | {"Content-Type": "application/json", "If-Match": "*"}
            response = hostile.request(
                op.method, _body_url(op, valid_values), content=body, headers=headers
            )
            if found := refusal_problems(response, forbidden):
                failures.append(f"{op.name} {name}: {found} — {response.text[:160]}")
    assert not failures, "\n".join(failures[:40])


def test_the_sweeps_fill_values_name_real_things(
    hostile: TestClient, valid_values: dict[str, str]
) -> None:
    """The valid values the sweeps start from reach the routes' real work (a hostile value
    among valid ones is refused by the check it meets, not by a missing layer)."""
    feature = f"/collections/{valid_values['collectionId']}/items/{valid_values['featureId']}"
    assert hostile.get(feature).status_code == 200
    tile = "/collections/gd-counties/tiles/WebMercatorQuad/6/27/52"
    assert hostile.get(tile).status_code == 200
    assert hostile.get(f"/processes/{VALID['processId']}").status_code == 200
