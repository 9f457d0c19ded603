"""Hourly AQI (HJ 633-2012 hourly report) against hand-worked indices, pandas' moving
means and the sample readings through POST /processes/monitoring-series/execution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from layers.errors import PayloadTooLarge
from spatial.aqi import hourly_iaqi
from spatial.monitoring_hours import monitoring_hours, with_hour_indices

# (pollutant, 1-hour concentration, IAQI) on HJ 633-2012 Table 1's 1-hour rows (PM: 24-hour)
EDGES = [
    ("so2", 150, 50), ("so2", 500, 100), ("so2", 650, 150), ("so2", 800, 200),
    ("no2", 100, 50), ("no2", 200, 100), ("no2", 700, 150), ("no2", 1200, 200),
    ("no2", 2340, 300), ("no2", 3090, 400), ("no2", 3840, 500),
    ("co", 5, 50), ("co", 10, 100), ("co", 35, 150), ("co", 60, 200), ("co", 90, 300),
    ("co", 120, 400), ("co", 150, 500),
    ("o3", 160, 50), ("o3", 200, 100), ("o3", 300, 150), ("o3", 400, 200), ("o3", 800, 300),
    ("o3", 1000, 400), ("o3", 1200, 500), ("o3", 1300, 500),
    ("pm25", 35, 50), ("pm25", 75, 100), ("pm25", 500, 500),
    ("pm10", 150, 100), ("pm10", 250, 150), ("pm10", 600, 500),
]  # fmt: skip
STEPS = [0, 50, 100, 150, 200, 300, 400, 500]  # written out again, not read from spatial.aqi
SO2_24H = [0, 50, 150, 475, 800, 1600, 2100, 2620]
PM25_24H = [0, 35, 75, 115, 150, 250, 350, 500]
NO2_1H = [0, 100, 200, 700, 1200, 2340, 3090, 3840]
INSIDE = [  # worked by hand: lo + 50 (or 100) × (C − BP_lo) / (BP_hi − BP_lo)
    ("no2", 450, 100 + 50 * 250 / 500),  # 200 → 100, 700 → 150: 125
    ("co", 20, 100 + 50 * 10 / 25),  # 10 → 100, 35 → 150: 120
    ("o3", 250, 125),  # 200 → 100, 300 → 150
    ("o3", 600, 200 + 100 * 200 / 400),  # 400 → 200, 800 → 300: 250
    ("so2", 300, 50 + 50 * 150 / 350),  # 150 → 50, 500 → 100: 71.43
    ("pm25", 80, 106.25),  # 75 → 100, 115 → 150 (24-hour row for the hour)
]


@pytest.mark.parametrize(("pollutant", "hour", "expected"), EDGES + INSIDE)
def test_hourly_iaqi_on_and_between_the_breakpoints(
    pollutant: str, hour: float, expected: float
) -> None:
    assert hourly_iaqi(pollutant, hour, 10.0) == pytest.approx(expected, abs=1e-9)  # type: ignore[arg-type]


def test_so2_above_800_is_indexed_by_its_24_hour_mean() -> None:
    """Table 1 note 2: no 1-hour index above 800; the 24-hour mean's index instead."""
    daily = 100 + 50 * (200 - 150) / (475 - 150)  # 24-hour row: 150 → 100, 475 → 150
    assert hourly_iaqi("so2", 900.0, 200.0) == pytest.approx(daily, abs=1e-12)
    assert hourly_iaqi("so2", 800.0, 200.0) == pytest.approx(200.0)  # the row's last value
    assert np.isnan(hourly_iaqi("so2", 900.0, np.nan))  # no valid 24-hour mean: no index


def _indexed(**hour: float) -> pd.Series:
    row = pd.DataFrame([{"so2_24h": np.nan} | hour])
    return with_hour_indices(row, list(hour)).iloc[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hour", "aqi", "category", "primary"),
    [
        ({"pm25": 10.0, "no2": 50.0}, 25, "优", None),  # ≤ 50: no primary pollutant
        ({"no2": 100.0}, 50, "优", None),
        ({"no2": 101.0}, 51, "良", "no2"),  # 50.5, rounded up
        ({"pm25": 55.0, "no2": 20.0}, 75, "良", "pm25"),
        ({"pm25": 75.0, "o3": 200.0}, 100, "良", "pm25,o3"),  # a tie: both primary
        ({"pm25": 80.0, "o3": 213.0}, 107, "轻度污染", "pm25,o3"),  # 106.25 and 106.5: both 107
        ({"pm25": 80.0, "o3": 215.0}, 108, "轻度污染", "o3"),  # 107.5 → 108: O3 alone
        ({"co": 47.5}, 175, "中度污染", "co"),  # 35 → 150, 60 → 200
        ({"o3": 400.0, "no2": 1200.0}, 200, "中度污染", "o3,no2"),  # in the inputs' order
        ({"no2": 1770.0}, 250, "重度污染", "no2"),  # 1200 → 200, 2340 → 300
        ({"o3": 800.0}, 300, "重度污染", "o3"),
        ({"o3": 802.0}, 301, "严重污染", "o3"),
        ({"pm10": 550.0, "so2": 100.0}, 450, "严重污染", "pm10"),
    ],
)
def test_hourly_aqi_category_and_primary_pollutants(
    hour: dict[str, float], aqi: int, category: str, primary: str | None
) -> None:
    row = _indexed(**hour)
    assert (row["aqi"], row["category"], row["primary"]) == (aqi, category, primary)


def test_exceedance_hours_use_the_1_hour_limits() -> None:
    row = _indexed(so2=501.0, no2=200.0, co=10.5, o3=201.0, pm25=300.0)
    assert [row["exceeds_so2"], row["exceeds_no2"], row["exceeds_co"], row["exceeds_o3"]] == [
        True, False, True, True,
    ]  # fmt: skip
    assert "exceeds_pm25" not in row  # GB 3095-2012 has no 1-hour PM2.5 limit


def test_moving_means_cross_midnight_and_gaps_as_pandas_does() -> None:
    rng = np.random.default_rng(3)
    times = pd.date_range("2025-06-01T10:00", periods=60, freq="h", tz="Asia/Shanghai")
    so2 = pd.Series(rng.uniform(100, 900, len(times)), index=times)
    so2.iloc[[5, 6, 30, 31, 32]] = np.nan  # missing hours: still rows, no value
    kept = so2.drop(so2.index[40:44])  # no readings at all for four hours
    one = pd.DataFrame({"t": kept.index, "so2": kept.to_numpy(), "o3": kept.to_numpy() / 3})
    late = one.iloc[20:].assign(site="B")  # a station starting later has its own axis
    frame = pd.concat([one.assign(site="A"), late])
    hours = monitoring_hours(frame, "site", "t", {"so2": "so2", "o3": "o3"})
    full = kept.reindex(times)
    for site, series in (("A", full), ("B", full.where(full.index >= kept.index[20]))):
        got = hours[hours["station"] == site].set_index("hour")
        want = series.rolling(24, min_periods=20).mean()
        eight = (series / 3).rolling(8, min_periods=6).mean()
        stamps = [t.strftime("%Y-%m-%dT%H:%M+08:00") for t in want.index]
        want, eight = pd.Series(want.to_numpy(), stamps), pd.Series(eight.to_numpy(), stamps)
        assert got["so2_24h"].to_numpy() == pytest.approx(
            want.reindex(got.index).to_numpy(), abs=1e-9, nan_ok=True
        )
        assert got["o3_8h"].to_numpy() == pytest.approx(
            eight.reindex(got.index).to_numpy(), abs=1e-9, nan_ok=True
        )
    assert len(hours) == len(one) + len(late) and hours["so2_24h"].notna().any()
    indexed = with_hour_indices(hours, ["so2", "o3"])
    above = indexed[indexed["so2"] > 800]  # Table 1 note 2: the 24-hour row's index
    assert len(above) > 0 and above["so2_24h"].notna().any()
    daily = np.where(above["so2_24h"].isna(), np.nan, np.interp(above["so2_24h"], SO2_24H, STEPS))
    assert above["iaqi_so2"].to_numpy() == pytest.approx(daily, abs=1e-9, nan_ok=True)


def test_a_series_too_long_for_memory_is_a_413() -> None:
    times = pd.to_datetime(["1970-01-01T00:00Z", "2010-01-01T00:00Z"] * 30)
    frame = pd.DataFrame({"t": times, "pm25": 10.0, "site": np.repeat(range(30), 2)})
    with pytest.raises(PayloadTooLarge, match=r"window: .*station-hours"):
        monitoring_hours(frame, "site", "t", {"pm25": "pm25"})


def test_hourly_series_through_the_api_match_pandas(
    client: TestClient, readings: pd.DataFrame
) -> None:
    body = {
        "inputs": {
            "layer": {"collection": "synthetic-station-readings"},
            "window": "2025-06-10/2025-06-10",
            "period": "hour",
        }
    }
    response = client.post("/processes/monitoring-series/execution", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    inside = readings[readings["day"] == "2025-06-10"].copy()
    local = inside["observed"].dt.tz_convert("Asia/Shanghai")
    inside["hour"] = local.dt.strftime("%Y-%m-%dT%H:%M+08:00")
    hourly = inside.groupby(["station_id", "hour"])[["pm25", "no2"]].mean()
    series = pd.DataFrame(result["station_series"]).set_index(["station", "hour"])
    assert len(series) == len(hourly) == 40 * 24
    got = series.reindex(hourly.index)
    assert got["pm25"].to_numpy() == pytest.approx(hourly["pm25"].to_numpy(), abs=1e-9)
    top = np.fmax(
        np.interp(hourly["pm25"], PM25_24H, STEPS), np.interp(hourly["no2"], NO2_1H, STEPS)
    )
    assert got["aqi"].tolist() == np.ceil(top).astype(int).tolist()
    over = (hourly["pm25"] > 75).groupby("station_id").sum()  # NO2 ≤ 63 here: PM2.5 rules
    assert over.sum() > 0  # the episode of 10–13 June
    stations = {f["properties"]["station"]: f["properties"] for f in result["stations"]["features"]}
    assert {s: p["hours_aqi_over_100"] for s, p in stations.items()} == over.to_dict()
    assert {p["no2_exceedance_hours"] for p in stations.values()} == {0}
    assert all("pm25_exceedance_hours" not in p for p in stations.values())
    codes = inside.drop_duplicates("station_id").set_index("station_id")["adcode"]
    county = hourly.join(codes).groupby(["adcode", "hour"])["pm25"].mean()
    rows = pd.DataFrame(result["county_series"]).query("level == 'county'")
    assert rows.set_index(["adcode", "hour"])["pm25"].reindex(county.index).to_numpy() == (
        pytest.approx(county.to_numpy(), abs=1e-9)
    )
    summary = pd.DataFrame(result["county_summary"]).query("level == 'county'")
    assert summary["hours_reported"].unique().tolist() == [24]
