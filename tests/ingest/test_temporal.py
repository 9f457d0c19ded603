"""Time-enabled layers: a time column detected or chosen on ingest, served by ``datetime=``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
from fastapi.testclient import TestClient
from shapely.geometry import Point

from tests.conftest import PUBLISHER
from tests.helpers.wait import wait_for
from tests.ingest.conftest import Publish, rows

UTC = dt.UTC
START = dt.datetime(2024, 5, 27, tzinfo=UTC)  # 240 hourly readings: 05-27 00:00 to 06-05 23:00


def geojson(path: Path, properties: list[dict[str, Any]]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Point", "coordinates": [113.0 + i * 1e-3, 23.0]},
        }
        for i, props in enumerate(properties)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def hourly(path: Path, hours: int = 240) -> Path:
    """The issue's file: ``observed`` as ISO-8601 text with ``Z``, one reading an hour."""
    stamps = [(START + dt.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in range(hours)]
    return geojson(path, [{"n": h, "observed": s, "site": "S1"} for h, s in enumerate(stamps)])


def upload(client: TestClient, path: Path, layer_id: str, **form: str) -> dict[str, Any]:
    with path.open("rb") as handle:
        response = client.post(
            "/ingest",
            files={"file": (path.name, handle)},
            data={"id": layer_id, **form},
            headers=PUBLISHER,
        )
    assert response.status_code == 201, response.text
    served(client, layer_id, int(response.json()["version"]))
    return response.json()  # type: ignore[no-any-return]


def served(client: TestClient, layer_id: str, version: int) -> dict[str, Any]:
    def collection() -> dict[str, Any] | None:
        response = client.get(f"/collections/{layer_id}")
        ok = response.status_code == 200 and response.json()["onemap:layer"]["version"] == version
        return response.json() if ok else None  # type: ignore[no-any-return]

    return wait_for(collection, f"{layer_id} v{version} was not served in time")


def matched(client: TestClient, layer_id: str, when: str) -> list[int]:
    response = client.get(
        f"/collections/{layer_id}/items", params={"datetime": when, "limit": 1000}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == len(body["features"])
    return sorted(f["properties"]["n"] for f in body["features"])


def test_iso_strings_in_geojson_make_a_time_enabled_layer(
    client: TestClient, tmp_path: Path
) -> None:
    body = upload(client, hourly(tmp_path / "readings.geojson"), "temporal-hourly")
    assert body["detected"]["temporal"]["field"] == "observed"
    assert body["detected"]["temporal"]["from"] == "the only date/time column"
    # The query: two whole days (UTC), 48 of the 240 readings.
    assert matched(client, "temporal-hourly", "2024-06-01/2024-06-02") == list(range(120, 168))
    assert matched(client, "temporal-hourly", "2024-06-01T03:00:00Z") == [123]
    assert matched(client, "temporal-hourly", "2024-06-01T11:00:00+08:00") == [123]
    assert matched(client, "temporal-hourly", "../2024-05-27T05:00:00Z") == list(range(6))
    assert matched(client, "temporal-hourly", "2024-06-05T20:00:00Z/..") == [236, 237, 238, 239]
    assert matched(client, "temporal-hourly", "2024-06-01T10:30:00Z/2024-06-01T12:00:00Z") == [
        131,
        132,
    ]
    assert matched(client, "temporal-hourly", "2023-01-01") == []
    collection = client.get("/collections/temporal-hourly").json()
    assert collection["extent"]["temporal"]["interval"] == [
        ["2024-05-27T00:00:00Z", "2024-06-05T23:00:00Z"]
    ]
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    assert listed["temporal-hourly"]["extent"]["temporal"] == collection["extent"]["temporal"]
    queryables = client.get("/collections/temporal-hourly/queryables").json()
    assert queryables["properties"]["observed"]["format"] == "date-time"


def test_the_choice_is_recorded_in_the_lineage(
    publish: Publish, migrated_url: str, layer_id: str, tmp_path: Path
) -> None:
    publish(hourly(tmp_path / "readings.geojson", 24), layer_id)
    version_lineage, run_detected = rows(
        migrated_url,
        "SELECT v.lineage, r.detected FROM onemap.layer_versions v "
        "JOIN onemap.ingest_runs r ON r.layer_id = v.layer_id AND r.version = v.version "
        "WHERE v.layer_id = %s",
        layer_id,
    )[0]
    for temporal in (version_lineage["temporal"], run_detected["temporal"]):
        assert temporal["field"] == "observed" and temporal["end_field"] is None
        assert temporal["from"] == "the only date/time column"
        assert temporal["extent"] == ["2024-05-27T00:00:00+00:00", "2024-05-27T23:00:00+00:00"]
        assert temporal["naive_timezone"] == "Asia/Shanghai"
    stored = rows(
        migrated_url,
        "SELECT temporal_field, temporal_end_field, temporal_start, temporal_end "
        "FROM onemap.layer_versions WHERE layer_id = %s",
        layer_id,
    )
    assert stored == [("observed", None, START, START + dt.timedelta(hours=23))]


def test_offsets_are_kept_and_naive_times_read_as_china_standard_time(
    publish: Publish, catalog: Any, migrated_url: str, layer_id: str, tmp_path: Path
) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_text(
        "lon,lat,n,observed\n"
        "113.1,23.1,0,2024-06-01T03:00:00+08:00\n"
        "113.2,23.1,1,2024-06-01T03:00:00Z\n"
        "113.3,23.1,2,2024-06-01 03:00:00\n"
    )
    result = publish(csv, layer_id)
    assert result.detected["temporal"]["field"] == "observed"
    table = catalog().get(layer_id).table_name
    stored = rows(migrated_url, f'SELECT observed FROM onemap_data."{table}" ORDER BY n')
    hour = dt.timedelta(hours=1)
    three = dt.datetime(2024, 6, 1, 3, tzinfo=UTC)
    assert [r[0] for r in stored] == [three - 8 * hour, three, three - 8 * hour]
    # Another zone for offset-less values, by option.
    utc = publish(csv, f"{layer_id}-utc", naive_timezone="UTC")
    table = catalog().get(utc.layer_id).table_name
    last = rows(migrated_url, f'SELECT observed FROM onemap_data."{table}" WHERE n = 2')
    assert last == [(three,)]


def test_kml_extended_data_dates_are_typed(
    publish: Publish, catalog: Any, layer_id: str, tmp_path: Path
) -> None:
    placemarks = "".join(
        f"<Placemark><name>p{i}</name><ExtendedData><Data name='sampled'><value>2024-06-0{i}"
        f"</value></Data></ExtendedData><Point><coordinates>113.{i},23</coordinates></Point>"
        "</Placemark>"
        for i in range(1, 4)
    )
    kml = tmp_path / "samples.kml"
    kml.write_text(
        "<?xml version='1.0'?><kml xmlns='http://www.opengis.net/kml/2.2'><Document>"
        f"{placemarks}</Document></kml>"
    )
    result = publish(kml, layer_id)
    layer = catalog().get(layer_id)
    assert layer.field("sampled").type == "date", "ISO dates in KML text are typed on load"
    assert layer.temporal_field == "sampled"
    assert result.detected["temporal"]["typed_from_text"] == ["sampled"]
    assert (layer.temporal_start, layer.temporal_end) == (
        dt.datetime(2024, 6, 1, tzinfo=UTC),
        dt.datetime(2024, 6, 3, tzinfo=UTC),
    )


def gpkg_with_two_times(path: Path) -> Path:
    """A GeoPackage with two DATETIME columns."""
    frame = gpd.GeoDataFrame(
        {
            "n": [0, 1, 2],
            "measured": [dt.datetime(2024, 6, d, 8, tzinfo=UTC) for d in (1, 2, 3)],
            "updated_time": [dt.datetime(2024, 7, 1, tzinfo=UTC)] * 3,
        },
        geometry=[Point(113 + i / 10, 23) for i in range(3)],
        crs="EPSG:4490",
    )
    frame.to_file(path, engine="pyogrio", layer="samples")
    return path


def test_gpkg_datetime_column_and_the_rule_between_two(client: TestClient, tmp_path: Path) -> None:
    path = gpkg_with_two_times(tmp_path / "samples.gpkg")
    body = upload(client, path, "temporal-gpkg")
    temporal = body["detected"]["temporal"]
    assert temporal["field"] == "updated_time", "rule 3: a name containing 'time'"
    assert sorted(temporal["candidates"]) == ["measured", "updated_time"]
    assert any("several date/time columns" in w for w in body["warnings"])
    assert matched(client, "temporal-gpkg", "2024-07-01") == [0, 1, 2]
    assert matched(client, "temporal-gpkg", "2024-06-02") == []
    chosen = upload(client, path, "temporal-gpkg-measured", datetime_field="measured")
    assert chosen["detected"]["temporal"]["from"] == "option"
    assert not any("several" in w for w in chosen["warnings"])
    assert matched(client, "temporal-gpkg-measured", "2024-06-02") == [1]
    collection = client.get("/collections/temporal-gpkg-measured").json()
    assert collection["extent"]["temporal"]["interval"] == [
        ["2024-06-01T08:00:00Z", "2024-06-03T08:00:00Z"]
    ]
    assert collection["onemap:layer"]["temporalField"] == "measured"


def test_a_date_field_covers_its_whole_day(client: TestClient, tmp_path: Path) -> None:
    path = geojson(
        tmp_path / "days.geojson", [{"n": 0, "day": "2024-06-01"}, {"n": 1, "day": "2024-06-02"}]
    )
    upload(client, path, "temporal-days")
    assert matched(client, "temporal-days", "2024-06-01T12:00:00Z") == [0]
    assert matched(client, "temporal-days", "2024-06-02T00:00:00Z") == [1]
    assert matched(client, "temporal-days", "2024-06-01T23:00:00Z/2024-06-02T01:00:00Z") == [0, 1]
    assert matched(client, "temporal-days", "2024-05-31T00:00:00Z/2024-06-01T00:00:00Z") == [0]
    assert matched(client, "temporal-days", "2024-06-02") == [1]


def test_a_start_end_pair_matches_intervals_that_intersect(
    client: TestClient, tmp_path: Path
) -> None:
    spans = [
        ("2024-06-01T00:00:00Z", "2024-06-03T00:00:00Z"),  # 0
        ("2024-06-05T00:00:00Z", "2024-06-06T00:00:00Z"),  # 1
        ("2024-06-02T12:00:00Z", None),  # 2: still going on
        ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"),  # 3
    ]
    path = geojson(
        tmp_path / "closures.geojson",
        [{"n": i, "closed_from": s, "closed_until": e} for i, (s, e) in enumerate(spans)],
    )
    form = {"datetime_start_field": "closed_from", "datetime_end_field": "closed_until"}
    body = upload(client, path, "temporal-pair", **form)
    assert body["detected"]["temporal"]["end_field"] == "closed_until"
    layer = "temporal-pair"
    assert matched(client, layer, "2024-06-02T00:00:00Z") == [0]
    assert matched(client, layer, "2024-06-02/2024-06-05") == [0, 1, 2]
    assert matched(client, layer, "2024-06-10/..") == [2]
    assert matched(client, layer, "../2024-05-01T12:00:00Z") == [3]
    assert matched(client, layer, "2024-05-03/2024-05-31") == []
    collection = client.get(f"/collections/{layer}").json()
    assert collection["extent"]["temporal"]["interval"] == [
        ["2024-05-01T00:00:00Z", "2024-06-06T00:00:00Z"]
    ]


def test_begin_end_columns_are_detected_as_a_pair(
    publish: Publish, catalog: Any, layer_id: str, tmp_path: Path
) -> None:
    path = geojson(
        tmp_path / "events.geojson",
        [{"begin": "2024-06-01T00:00:00Z", "end": "2024-06-02T00:00:00Z", "date": "2024-06-01"}],
    )
    result = publish(path, layer_id)
    layer = catalog().get(layer_id)
    assert (layer.temporal_field, layer.temporal_end_field) == ("begin", "end")
    assert "begin/end" in result.detected["temporal"]["from"]


def test_no_datetime_opts_out(client: TestClient, tmp_path: Path) -> None:
    path = hourly(tmp_path / "readings.geojson", 48)
    body = upload(client, path, "temporal-off", no_datetime="true")
    assert body["detected"]["temporal"] == {"field": None, "from": "--no-datetime"}
    collection = client.get("/collections/temporal-off").json()
    assert "temporal" not in collection["extent"]
    assert len(matched(client, "temporal-off", "2024-05-27T03:00:00Z")) == 48, "not filtered"


def test_text_that_stops_being_dates_after_the_first_batch_stays_text(
    publish: Publish, catalog: Any, migrated_url: str, layer_id: str, tmp_path: Path
) -> None:
    values = ["2024-06-01", "2024-06-02", "2024-06-03", "soon", "2024-06-05"]
    props = [
        {"n": i, "due": v, "visited": f"2024-06-0{i + 1}T08:00:00+08:00"}
        for i, v in enumerate(values)
    ]
    path = geojson(tmp_path / "due.geojson", props)
    # GDAL sees "soon" and reads 'due' as text; the first batch (2 rows) looks like dates.
    result = publish(path, layer_id, batch_rows=2)
    layer = catalog().get(layer_id)
    assert layer.field("due").type == "string"
    assert layer.temporal_field == "visited"
    assert any("feature 4 has 'soon'; it is kept as text" in w for w in result.warnings)
    stored = rows(migrated_url, f'SELECT n, due FROM onemap_data."{layer.table_name}" ORDER BY n')
    assert stored == list(enumerate(values)), "every feature once, text as it was"


def test_roll_ups_of_time_enabled_counties_are_time_enabled(
    client: TestClient, publish: Publish, catalog: Any, tmp_path: Path
) -> None:
    for code, day in (("440106", "2024-06-01"), ("440104", "2024-06-03")):
        path = geojson(
            tmp_path / f"air_{code}.geojson",
            [{"n": h, "observed": f"{day}T{h:02d}:00:00Z"} for h in range(24)],
        )
        publish(path, f"airtime-{code}", level="county", adcode=code, theme="airtime")
    city = catalog().get("airtime-440100")
    assert city.temporal_field == "observed"
    assert (city.temporal_start, city.temporal_end) == (
        dt.datetime(2024, 6, 1, tzinfo=UTC),
        dt.datetime(2024, 6, 3, 23, tzinfo=UTC),
    )
    served(client, "airtime-440100", city.version)
    assert len(matched(client, "airtime-440100", "2024-06-03")) == 24
    other = geojson(tmp_path / "air_other.geojson", [{"n": 0, "when": "2024-06-05T00:00:00Z"}])
    publish(other, "airtime-440105", level="county", adcode="440105", theme="airtime")
    assert catalog().get("airtime-440100").temporal_field is None, "members disagree"
