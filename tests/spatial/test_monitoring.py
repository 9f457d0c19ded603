"""monitoring-series against hand-computed HJ 633-2012 indices and pandas on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from layers.errors import InvalidParameter
from spatial import DEFAULT_REGISTRY, Context
from spatial.aqi import aqi, category, iaqi, primary_pollutants
from spatial.monitoring import county_days, monitoring_days, months, with_indices


def test_iaqi_by_hand_from_the_breakpoints() -> None:
    """Linear interpolation between HJ 633-2012 Table 1 breakpoints, worked by hand."""
    # PM2.5 80: between 75 → 100 and 115 → 150: 100 + 50 / 40 × 5 = 106.25 (AQI 107, rounded up)
    assert iaqi("pm25", 80.0) == pytest.approx(106.25, abs=1e-12)
    assert iaqi("no2", 100.0) == pytest.approx(
        100 + 50 / 100 * 20, abs=1e-12
    )  # 80 → 100, 180 → 150
    assert iaqi("pm10", 150.0) == pytest.approx(100.0)  # on a breakpoint
    assert iaqi("co", 3.0) == pytest.approx(75.0)  # mg/m³: 2 → 50, 4 → 100
    assert iaqi("no2", 150.0, "1h") == pytest.approx(75.0)  # 1-hour row: 100 → 50, 200 → 100
    assert iaqi("o3", 180.0, "8h") == pytest.approx(100 + 50 / 55 * 20, abs=1e-12)
    assert np.isnan(iaqi("so2", 900.0, "1h"))  # past the 1-hour row: the 24-hour index is used
    assert iaqi("pm25", 900.0) == 500.0  # past the table's end
    top = aqi([[106.25, 12.5]])
    assert top.tolist() == [107.0] and category(107.0) == "轻度污染" and category(50.0) == "优"
    assert primary_pollutants({"pm25": 106.25, "no2": 12.5}, 107.0) == "pm25"
    assert primary_pollutants({"pm25": 40.0, "no2": 12.5}, 40.0) is None  # AQI ≤ 50: none


def _hours(day: str, values: list[float]) -> pd.Series:
    return pd.Series(
        values, index=pd.date_range(day, periods=len(values), freq="h", tz="Asia/Shanghai")
    )


def test_a_day_needs_20_hours_and_o3_its_8_hour_windows() -> None:
    rng = np.random.default_rng(7)
    o3 = _hours("2025-06-01", list(rng.uniform(40, 220, 24)))
    o3.iloc[[3, 4, 11]] = np.nan  # windows keep ≥ 6 of 8 hours
    pm25 = pd.concat([_hours("2025-06-01", [80.0] * 20), _hours("2025-06-02", [90.0] * 19)])
    one = pd.DataFrame({"pm25": pm25, "o3": o3}).rename_axis("t").reset_index()
    untimed = pd.DataFrame({"t": [pd.NaT], "pm25": [500.0], "o3": [900.0], "site": ["A"]})
    readings = pd.concat([one.assign(site="A"), one.assign(site="B", o3=one["o3"] + 10), untimed])
    days = monitoring_days(readings, "site", "t", {"pm25": "pm25", "o3": "o3"})
    first, second = days.iloc[0], days.iloc[1]
    assert first["pm25"] == 80.0 and first["pm25_hours"] == 20
    assert np.isnan(second["pm25"]) and second["pm25_hours"] == 19  # GB 3095: < 20 hours
    rolling = o3.rolling(8, min_periods=6).mean().iloc[7:]  # windows 00–08 … 16–24
    assert first["o3"] == pytest.approx(rolling.max(), abs=1e-9)
    assert first["o3_1h"] == pytest.approx(o3.max(), abs=1e-12)
    indexed = with_indices(days, ["pm25", "o3"])
    expected = max(np.ceil(iaqi("o3", rolling.max(), "8h")), np.ceil(iaqi("o3", o3.max(), "1h")))
    assert indexed.iloc[0]["aqi"] == max(expected, 107)  # PM2.5 80 → 106.25
    codes = pd.Series({"A": "440106", "B": "440106"})
    county = with_indices(county_days(indexed, codes, ["pm25", "o3"]), ["pm25", "o3"])
    row = county.query("level == 'county'").iloc[0]
    assert row["o3"] == pytest.approx(rolling.max() + 5, abs=1e-9)  # mean of A and A + 10
    assert row["o3_stations"] == 2 and row["pm25"] == 80.0
    one_valid = pd.DataFrame(
        {"station": ["A"], "day": [first["day"]], "pm25": [50.0], "no2": [np.nan]}
    )
    rows = county_days(one_valid, codes, ["pm25", "no2"]).query("level == 'county'")
    assert rows["no2_stations"].tolist() == [0] and rows["no2"].isna().all()  # 0, not null


def test_months_need_27_valid_days_and_25_in_february() -> None:
    days = pd.DataFrame({"day": pd.date_range("2025-02-01", "2025-03-26").date})
    days["pm25"] = np.linspace(20, 100, len(days))
    days = with_indices(days.assign(station="A"), ["pm25"])
    table = months(days, ["station"], ["pm25"]).set_index("month")
    frame = days.assign(day=pd.to_datetime(days["day"])).set_index("day")["pm25"]
    expected = frame.resample("MS").mean()
    assert table["pm25"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-9)
    assert table["pm25_days"].tolist() == [28, 26]
    assert table["pm25_complete"].tolist() == [True, False]  # March: 26 < 27
    exceed = (frame > 75).resample("MS").sum()
    assert table["pm25_exceedance_days"].tolist() == exceed.tolist()


def test_series_match_pandas_on_the_same_rows(client: TestClient, readings: pd.DataFrame) -> None:
    body = {
        "inputs": {
            "layer": {"collection": "synthetic-station-readings"},
            "window": "2025-06-09/2025-06-12",
        }
    }
    response = client.post("/processes/monitoring-series/execution", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    inside = readings[readings["day"].between("2025-06-09", "2025-06-12")]
    daily = inside.groupby(["station_id", "day"])[["pm25", "no2"]].mean()
    series = pd.DataFrame(result["station_series"]).set_index(["station", "day"])
    assert len(series) == len(daily) == 40 * 4
    for pollutant in ("pm25", "no2"):
        got = series[pollutant].reindex(daily.index).to_numpy()
        assert got == pytest.approx(daily[pollutant].to_numpy(), abs=1e-9)
    per_station = (daily["pm25"] > 75).groupby("station_id").sum()
    stations = {f["properties"]["station"]: f["properties"] for f in result["stations"]["features"]}
    assert {s: p["pm25_exceedance_days"] for s, p in stations.items()} == per_station.to_dict()
    assert per_station.sum() > 0  # the episode of 10–13 June exceeds somewhere
    codes = inside.drop_duplicates("station_id").set_index("station_id")["adcode"]
    assert {s: p["adcode"] for s, p in stations.items()} == codes.to_dict()  # located in polygons
    county = daily.join(codes).groupby(["adcode", "day"])["pm25"].mean()
    rows = pd.DataFrame(result["county_series"]).query("level == 'county'")
    got = rows.set_index(["adcode", "day"])["pm25"].reindex(county.index).to_numpy()
    assert got == pytest.approx(county.to_numpy(), abs=1e-9)
    summary = pd.DataFrame(result["county_summary"]).query("level == 'county'")
    exceed = (county > 75).groupby("adcode").sum()
    assert summary.set_index("adcode")["pm25_exceedance_days"].to_dict() == exceed.to_dict()
    body["inputs"]["period"] = "month"
    monthly = client.post("/processes/monitoring-series/execution", json=body).json()
    by_month = pd.DataFrame(monthly["station_series"]).set_index("station")
    assert by_month["month"].unique().tolist() == ["2025-06"]
    means = daily["pm25"].groupby("station_id").mean()
    assert by_month["pm25"].reindex(means.index).to_numpy() == pytest.approx(means, abs=1e-9)
    assert not by_month["pm25_complete"].any()  # 4 valid days < 27
    assert by_month["pm25_exceedance_days"].to_dict() == per_station.to_dict()


def _run(ctx: Context, **inputs: object) -> None:
    DEFAULT_REGISTRY.get("monitoring-series").execute(
        {"layer": {"collection": "synthetic-station-readings"}} | inputs, ctx
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"layer": {"collection": "gd-counties"}}, "layer: 'gd-counties' is not time-enabled"),
        ({"values": {"pm25": "no_such"}}, "values: no field 'no_such'"),
        ({"values": {"pm1": "pm25"}}, "values"),
        ({"values": {"no2": "station_id"}}, "values: field 'station_id' is string, not numeric"),
        ({"station_field": "nope"}, "station_field: no field 'nope'"),
        ({"window": "2025-06-12/2025-06-01"}, "window: .*ends before it starts"),
        ({"window": "2025-06-01"}, "window: .*not an interval"),
        ({"window": "2030-01-01/.."}, "window: .*no readings"),
    ],
)
def test_bad_inputs_are_400s_naming_them(
    ctx: Context, inputs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        _run(ctx, **inputs)
