"""The bundled time series: synthetic hourly station readings, time-enabled on load."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ingest.sample import SYNTHETIC_LAYERS

READINGS = "synthetic-station-readings"


def number_matched(client: TestClient, **params: str) -> int:
    response = client.get(f"/collections/{READINGS}/items", params={"limit": "1", **params})
    assert response.status_code == 200, response.text
    return int(response.json()["numberMatched"])


def test_the_readings_layer_is_time_enabled_and_flagged_synthetic(client: TestClient) -> None:
    assert READINGS in {layer_id for _, layer_id, _, _ in SYNTHETIC_LAYERS}
    collection = client.get(f"/collections/{READINGS}").json()
    assert "SYNTHETIC" in collection["title"] and "synthetic" in collection["description"].lower()
    assert collection["onemap:layer"]["metadata"]["synthetic"] is True
    assert collection["onemap:layer"]["temporalField"] == "observed"
    # 21 days of China Standard Time, 2025-06-01 00:00 to 06-21 23:00 (+08:00), in UTC.
    assert collection["extent"]["temporal"]["interval"] == [
        ["2025-05-31T16:00:00Z", "2025-06-21T15:00:00Z"]
    ]
    assert collection["onemap:layer"]["featureCount"] == 40 * 21 * 24


def test_datetime_selects_hours_and_days_of_the_readings(client: TestClient) -> None:
    assert number_matched(client, datetime="2025-06-10T08:00:00+08:00") == 40, "one per station"
    assert number_matched(client, datetime="2025-06-10T00:30:00Z") == 0, "readings are hourly"
    assert number_matched(client, datetime="2025-06-10") == 40 * 24, "a UTC day"
    assert number_matched(client, datetime="2025-06-21T00:00:00Z/..") == 40 * 16
    assert number_matched(client, datetime="2025-06-22/..") == 0


def test_the_pollution_episode_shows_in_the_series(client: TestClient) -> None:
    def mean_pm25(when: str) -> float:
        response = client.get(
            f"/collections/{READINGS}/items",
            params={"datetime": when, "limit": "1000", "properties": "pm25"},
        )
        values = [f["properties"]["pm25"] for f in response.json()["features"]]
        assert len(values) == 40 * 24
        return sum(values) / len(values)

    assert mean_pm25("2025-06-11") > 1.1 * mean_pm25("2025-06-04")
