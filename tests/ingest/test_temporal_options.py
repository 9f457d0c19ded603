"""Time columns chosen or refused: a bad value in the named field, contradicting options
and a bad ``datetime=`` query are clear errors, through the upload, the API and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from layers.errors import IngestError, InvalidParameter
from tests.conftest import PUBLISHER
from tests.ingest.conftest import Publish, rows
from tests.ingest.test_temporal import geojson, gpkg_with_two_times, hourly, upload


def test_a_bad_value_in_the_named_field_is_a_clear_error(
    client: TestClient, publish: Publish, layer_id: str, tmp_path: Path
) -> None:
    path = geojson(
        tmp_path / "visits.geojson",
        [{"n": 0, "visited": "2024-06-01T08:00:00Z"}, {"n": 1, "visited": "next week"}],
    )
    plain = publish(path, layer_id)
    assert "temporal" not in plain.detected, "a column with a non-date is not a time column"
    with pytest.raises(IngestError, match="feature 2 has 'next week'"):
        publish(path, layer_id, datetime_field="visited")
    with path.open("rb") as handle:
        response = client.post(
            "/ingest",
            files={"file": (path.name, handle)},
            data={"id": "temporal-bad", "datetime_field": "visited"},
            headers=PUBLISHER,
        )
    assert response.status_code == 422
    assert "datetime field 'visited'" in response.json()["description"]
    assert str(tmp_path) not in response.text
    with pytest.raises(IngestError, match="is a column of integers"):
        publish(path, layer_id, datetime_field="n")
    with pytest.raises(IngestError, match="not a column of this file; it has: n, visited"):
        publish(path, layer_id, datetime_field="when")


def test_contradicting_time_options_are_refused(client: TestClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="go together"):
        from ingest.options import IngestOptions

        IngestOptions(datetime_start_field="a")
    path = hourly(tmp_path / "readings.geojson", 2)
    for form in (
        {"datetime_field": "observed", "no_datetime": "true"},
        {"datetime_field": "observed", "datetime_end_field": "observed"},
        {"naive_timezone": "Mars/Olympus"},
    ):
        response = client.post(
            "/ingest",
            files={"file": (path.name, path.read_bytes())},
            data={"id": "x", **form},
            headers=PUBLISHER,
        )
        assert response.status_code == 400, (form, response.text)


def test_a_bad_datetime_query_is_400(client: TestClient, tmp_path: Path) -> None:
    upload(client, hourly(tmp_path / "readings.geojson", 3), "temporal-query")
    for bad in ("yesterday", "2024-06-02/2024-06-01", "2024-13-01", "../..x"):
        response = client.get("/collections/temporal-query/items", params={"datetime": bad})
        assert response.status_code == 400, bad
        assert "datetime" in response.json()["description"]


def onemap(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env["ONEMAP_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "ogc.cli.main", "ingest", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_flags_choose_refuse_and_report(migrated_url: str, tmp_path: Path) -> None:
    path = gpkg_with_two_times(tmp_path / "samples.gpkg")
    done = onemap(migrated_url, str(path), "--id", "cli-temporal", "--datetime-field", "measured")
    assert done.returncode == 0, done.stderr
    extent = "2024-06-01T08:00:00+00:00 … 2024-06-03T08:00:00+00:00"
    assert f"temporal: measured (option), {extent}" in done.stdout
    stored = rows(
        migrated_url,
        "SELECT temporal_field FROM onemap.layer_versions WHERE layer_id = 'cli-temporal'",
    )
    assert stored == [("measured",)]
    auto = onemap(migrated_url, str(path), "--id", "cli-temporal-auto")
    assert "warning: several date/time columns (measured, updated_time)" in auto.stderr
    both = onemap(
        migrated_url, str(path), "--id", "cli-x", "--no-datetime", "--datetime-field", "n"
    )
    assert both.returncode != 0 and "--no-datetime cannot be combined" in both.stderr
    bad = onemap(migrated_url, str(path), "--id", "cli-x", "--datetime-field", "n")
    assert bad.returncode != 0 and "datetime field 'n' is a column of integers" in bad.stderr
    assert "Traceback" not in bad.stderr + both.stderr
