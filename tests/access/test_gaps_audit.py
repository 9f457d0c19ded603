"""Audit completeness (issue 13): restricted reads through dataset tiles and WMTS
GetFeatureInfo are counted like every other read; writes the write guard refuses
(cross-origin, an upload refused before its body) are denials, and so are WMTS requests
for a layer the caller may not see; an ingest's audit row is written in the ingest's own
transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from fastapi.testclient import TestClient

from tests.access.fields_areas_helpers import as_caller, callers
from tests.access.identify_fixtures import restricted_reads
from tests.access.ownership_fixtures import A_PUBLIC, as_, audit_rows, owned
from tests.gate_fixtures import RESTRICTED, gate_client
from tests.tiles.helpers import tile_at

__all__ = ["callers", "gate_client", "owned"]  # the fixtures
TMS = "WebMercatorQuad"
MEMBER = as_caller("member")  # subject "m", a member of the restricted layer's department


def _flush(client: TestClient) -> None:
    service = client.app.state.onemap.access  # type: ignore[attr-defined]
    client.portal.call(service.flush)


def test_dataset_tiles_and_feature_info_count_restricted_reads(
    callers: TestClient, sample_url: str
) -> None:
    row, col = tile_at(TMS, 14, 113.25, 23.125)
    paths = (
        f"/tiles/{TMS}/10/{tile_at(TMS, 10, 113.28, 23.13)[0]}/"
        f"{tile_at(TMS, 10, 113.28, 23.13)[1]}?collections={RESTRICTED}",
        f"/wmts?SERVICE=WMTS&REQUEST=GetFeatureInfo&VERSION=1.0.0&LAYER={RESTRICTED}"
        f"&STYLE=default&TILEMATRIXSET={TMS}&TILEMATRIX=14&TILEROW={row}&TILECOL={col}"
        "&I=128&J=128&INFOFORMAT=application/json&FORMAT=image/png",
        f"/wmts/1.0.0/{RESTRICTED}/default/{TMS}/14/{row}/{col}/128/128.json",
    )
    for path in paths:
        _flush(callers)
        before = restricted_reads(sample_url, "m", RESTRICTED)
        answer = callers.get(path, headers=MEMBER)
        assert answer.status_code in (200, 204), (path, answer.text)
        _flush(callers)
        assert restricted_reads(sample_url, "m", RESTRICTED) == before + 1, path


def _denied(url: str, subject: str | None, path_kind: str, status: int) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT COALESCE(sum((detail ->> 'count')::bigint), 0) FROM onemap.audit_log "
            "WHERE operation = 'request.denied' AND actor_subject IS NOT DISTINCT FROM %s "
            "AND detail ->> 'pathKind' = %s AND (detail ->> 'status')::int = %s",
            (subject, path_kind, status),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _settled(count: Callable[[], int]) -> int:
    """A count that no longer moves over a flush interval (1 s) and a margin."""
    last = count()
    while True:
        time.sleep(1.2)
        now = count()
        if now == last:
            return now
        last = now


POINTS = orjson.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "gap", "secret": "s"},
                "geometry": {"type": "Point", "coordinates": [113.31, 23.12]},
            }
        ],
    }
)


def _upload(client: TestClient, headers: dict[str, str], **form: str) -> Any:
    files = {"file": ("points.geojson", POINTS, "application/geo+json")}
    return client.post("/ingest", files=files, data=form, headers=headers)


def test_the_write_guards_refusals_are_denials(owned: TestClient, sample_url: str) -> None:
    _flush(owned)
    foreign = {"Origin": "https://elsewhere.example"}
    before = _denied(sample_url, "alice", "ingest", 403)
    # other apps on this database (earlier tests') flush their anonymous counts every second
    anonymous_before = _settled(lambda: _denied(sample_url, None, "ingest", 403))
    admin_before = _denied(sample_url, "alice", "admin", 403)
    assert _upload(owned, as_("alice") | foreign, layer=A_PUBLIC).status_code == 403
    assert _upload(owned, {}, layer=A_PUBLIC).status_code == 403  # before the body
    patch = owned.patch(
        f"/admin/layers/{A_PUBLIC}", json={"title": "x"}, headers=as_("alice") | foreign
    )
    assert patch.status_code == 403 and "refused" in patch.json()["detail"]
    _flush(owned)
    assert _denied(sample_url, "alice", "ingest", 403) == before + 1
    assert _denied(sample_url, None, "ingest", 403) == anonymous_before + 1
    assert _denied(sample_url, "alice", "admin", 403) == admin_before + 1


def test_an_ingest_is_audited_in_its_own_transaction(owned: TestClient, sample_url: str) -> None:
    """The audit row carries the transaction's now(): the version's created_at, exactly."""
    done = _upload(owned, as_("alice"), layer=A_PUBLIC)
    assert done.status_code == 201, done.text
    version = done.json()["version"]
    row = [r for r in audit_rows(sample_url, "layer.ingest", "alice") if r["version"] == version]
    with psycopg.connect(sample_url) as conn:
        created = conn.execute(
            "SELECT created_at FROM onemap.layer_versions WHERE layer_id = %s AND version = %s",
            (A_PUBLIC, version),
        ).fetchone()
    assert created is not None and len(row) == 1
    assert row[0]["at"] == created[0] and row[0]["outcome"] == "ok"
    assert row[0]["detail"]["unchanged"] is False and row[0]["detail"]["file"] == "points.geojson"

    again = _upload(owned, as_("alice"), layer=A_PUBLIC)  # the same file: nothing to publish
    assert again.status_code == 200 and again.json()["unchanged"] is True
    last = audit_rows(sample_url, "layer.ingest", "alice")[-1]
    assert (last["version"], last["detail"]["unchanged"]) == (version, True)


def _wmts_requests(layer_id: str) -> tuple[str, ...]:
    """GetTile and GetFeatureInfo of ``layer_id``, KVP and RESTful."""
    row, col = tile_at(TMS, 14, 113.25, 23.125)
    kvp = (
        f"/wmts?SERVICE=WMTS&VERSION=1.0.0&LAYER={layer_id}&STYLE=default&TILEMATRIXSET={TMS}"
        f"&TILEMATRIX=14&TILEROW={row}&TILECOL={col}&FORMAT=image/png"
    )
    rest = f"/wmts/1.0.0/{layer_id}/default/{TMS}/14/{row}/{col}"
    return (
        kvp + "&REQUEST=GetTile",
        kvp + "&REQUEST=GetFeatureInfo&I=128&J=128&INFOFORMAT=application/json",
        rest + ".png",
        rest + "/128/128.json",
    )


def test_wmts_requests_for_a_hidden_layer_are_denials(callers: TestClient, sample_url: str) -> None:
    """Answered as an unknown layer is (the same exception report), and counted as every
    other path counts a hidden layer asked for by an identified caller."""
    government = as_caller("government")  # sees internal layers, not the restricted one
    _flush(callers)
    before = _denied(sample_url, "gov", "tiles", 400)
    anonymous_before = _denied(sample_url, None, "tiles", 400)
    for hidden, unknown in zip(
        _wmts_requests(RESTRICTED), _wmts_requests("no-such-layer"), strict=True
    ):
        for headers in (government, {}):
            answer = callers.get(hidden, headers=headers)
            assert answer.status_code == 400, (hidden, answer.text)
            assert answer.headers["content-type"].startswith("application/xml")
            alike = callers.get(unknown, headers=headers).text.replace("no-such-layer", RESTRICTED)
            assert answer.text == alike, hidden
    _flush(callers)
    assert _denied(sample_url, "gov", "tiles", 400) == before + 4
    assert _denied(sample_url, None, "tiles", 400) == anonymous_before  # not identified
