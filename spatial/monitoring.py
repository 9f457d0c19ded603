"""Monitoring series: hourly station readings → daily (or monthly) values per station and
per county, with HJ 633-2012 indices and GB 3095-2012 grade II exceedances.

Days are China Standard Time days (Asia/Shanghai), as monitoring is reported. Validity
(GB 3095-2012 Table 4): a 24-hour mean needs at least 20 hourly values that day; an
O3 8-hour mean at least 6 of its 8 hours, and the daily maximum 8-hour mean (the 17
windows from 00–08 to 16–24) at least 14 valid windows (HJ 663-2013); a monthly mean at
least 27 valid daily values (25 in February). A day that fails is reported with its
count of hours and no value; a month that fails keeps its mean, flagged incomplete.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from spatial.aqi import GRADE_II_24H, Pollutant, aqi, category, iaqi, primary_pollutants
from spatial.rollup import roll_up

CST = "Asia/Shanghai"
MIN_HOURS_PER_DAY = 20
MIN_HOURS_PER_8H = 6
MIN_8H_WINDOWS = 14


def monitoring_days(
    readings: pd.DataFrame,
    station_field: str,
    time_field: str,
    fields: dict[Pollutant, str],
) -> pd.DataFrame:
    """One row per station and CST day: ``station``, ``day`` and per pollutant its daily
    value (NaN when invalid) and ``<p>_hours`` (valid hours); O3 adds ``o3_1h`` (daily
    maximum hour) to ``o3`` (daily maximum 8-hour mean). A reading's time is the start of
    its hour (08:00 is 08:00–09:00, as the sample layer writes them); readings without a
    time are left out."""
    readings, local = timed_readings(readings, time_field)
    keys = pd.DataFrame(
        {
            "station": readings[station_field].astype(str).to_numpy(),
            "day": local.dt.floor("D").to_numpy(),
        }
    )
    group = keys.groupby(["station", "day"], sort=True).ngroup().to_numpy()
    table = keys.drop_duplicates().sort_values(["station", "day"], ignore_index=True)
    cell = group * 24 + local.dt.hour.to_numpy()  # (station-day, hour) as one flat index
    for pollutant, field in fields.items():
        values = pd.to_numeric(readings[field], errors="coerce").to_numpy(dtype=float)
        grid = _hour_grid(cell, values, len(table))
        for name, column in _daily_values(pollutant, grid).items():
            table[name] = column
    table["day"] = table["day"].dt.date
    return table


def timed_readings(readings: pd.DataFrame, time_field: str) -> tuple[pd.DataFrame, pd.Series]:
    """The readings that have a time, and their times as naive CST date-times."""
    local = pd.to_datetime(readings[time_field], utc=True).dt.tz_convert(CST)
    timed = local.notna()
    return readings[timed], local[timed].dt.tz_localize(None)


def _hour_grid(cell: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """A (station-days, 24) grid of hourly means (two readings in one hour: their mean);
    NaN where an hour has no value."""
    present = ~np.isnan(values)
    size = groups * 24
    sums = np.bincount(cell[present], weights=values[present], minlength=size)
    counts = np.bincount(cell[present], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan).reshape(groups, 24)


def _daily_values(pollutant: Pollutant, hours: np.ndarray) -> dict[str, np.ndarray]:
    """A (days, 24) grid of hourly values → the day's statistic(s) and its valid hours."""
    count = np.sum(~np.isnan(hours), axis=1)
    if pollutant != "o3":
        mean = _nan_reduce(np.nanmean, hours)
        return {
            pollutant: np.where(count >= MIN_HOURS_PER_DAY, mean, np.nan),
            f"{pollutant}_hours": count,
        }
    windows = np.lib.stride_tricks.sliding_window_view(hours, 8, axis=1)  # (days, 17, 8)
    window_count = np.sum(~np.isnan(windows), axis=2)
    eight = np.where(window_count >= MIN_HOURS_PER_8H, _nan_reduce(np.nanmean, windows, 2), np.nan)
    valid_windows = np.sum(~np.isnan(eight), axis=1)
    best = np.where(valid_windows >= MIN_8H_WINDOWS, _nan_reduce(np.nanmax, eight), np.nan)
    return {"o3": best, "o3_1h": _nan_reduce(np.nanmax, hours), "o3_hours": count}


def _nan_reduce(how: object, values: np.ndarray, axis: int = 1) -> np.ndarray:
    """``np.nanmean``/``np.nanmax`` along ``axis``, NaN (not a warning) where all are NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(how(values, axis=axis))  # type: ignore[operator]


def with_indices(days: pd.DataFrame, pollutants: list[Pollutant]) -> pd.DataFrame:
    """Add ``iaqi_<p>``, ``aqi``, ``primary``, ``category`` and ``exceeds_<p>`` to daily
    rows (HJ 633-2012 daily report: 24-hour breakpoints; O3 by its daily maximum 8-hour
    mean, or its maximum hour's index where that is higher or the 8-hour row ends)."""
    out = days.copy()
    for pollutant in pollutants:
        if pollutant == "o3":
            eight, one = iaqi("o3", out["o3"], "8h"), iaqi("o3", out["o3_1h"], "1h")
            out["iaqi_o3"] = np.fmax(eight, one)
        else:
            out[f"iaqi_{pollutant}"] = iaqi(pollutant, out[pollutant])
        out[f"exceeds_{pollutant}"] = out[pollutant] > GRADE_II_24H[pollutant]
    return with_aqi(out, pollutants)


def with_aqi(rows: pd.DataFrame, pollutants: list[Pollutant]) -> pd.DataFrame:
    """Rows with ``iaqi_<p>`` → ``aqi``, ``primary`` and ``category`` added (in place)."""
    names = [f"iaqi_{pollutant}" for pollutant in pollutants]
    rows["aqi"] = pd.Series(aqi(rows[names].to_numpy()), index=rows.index).astype("Int64")
    indices = [dict(zip(pollutants, row, strict=True)) for row in rows[names].to_numpy().tolist()]
    top = rows["aqi"].astype(float).to_numpy().tolist()
    rows["primary"] = [primary_pollutants(i, a) for i, a in zip(indices, top, strict=True)]
    rows["category"] = [category(a) for a in top]
    return rows


def county_days(
    days: pd.DataFrame, station_codes: pd.Series, pollutants: list[Pollutant]
) -> pd.DataFrame:
    """Per county (and city and province, the roll-up's levels) and day: the mean of the
    stations' valid daily values (O3: of both its statistics) and how many stations gave
    one (``<p>_stations``)."""
    columns = [c for p in pollutants for c in ([p, "o3_1h"] if p == "o3" else [p])]
    return county_series(days, station_codes, columns, "day")


def county_series(
    rows: pd.DataFrame, station_codes: pd.Series, columns: list[str], period: str
) -> pd.DataFrame:
    """Per county, city and province and ``period`` value (day or hour): the mean of the
    stations' valid values of each column and how many stations gave one."""
    coded = rows.assign(adcode=rows["station"].map(station_codes))
    keys = [period, "adcode", "level"]
    merged: pd.DataFrame | None = None
    for column in columns:  # each frame has its columns, even when empty
        valid = coded[coded[column].notna()]
        rolled = roll_up(valid, column, "mean", by=(period,)).rename(
            columns={"value": column, "n": f"{column}_stations"}
        )
        merged = rolled if merged is None else merged.merge(rolled, on=keys, how="outer")
    assert merged is not None
    counts = [f"{column}_stations" for column in columns]  # a unit without one: 0, not null
    merged[counts] = merged[counts].fillna(0).astype(int)
    return merged.sort_values(keys, ignore_index=True)


def months(days: pd.DataFrame, units: list[str], pollutants: list[Pollutant]) -> pd.DataFrame:
    """Monthly means of valid daily values per unit, ``<p>_days`` counted, ``<p>_complete``
    by GB 3095-2012 (27 days, 25 in February) and ``<p>_exceedance_days``."""
    month = pd.to_datetime(days["day"]).dt.to_period("M").astype(str)
    groups = days.assign(month=month).groupby([*units, "month"], sort=True)
    out = groups.size().rename("days_reported").to_frame()
    february = out.index.get_level_values("month").str.endswith("-02")
    needed = np.where(february, 25, 27)
    for pollutant in pollutants:
        out[pollutant] = groups[pollutant].mean()
        out[f"{pollutant}_days"] = groups[pollutant].count()
        out[f"{pollutant}_complete"] = out[f"{pollutant}_days"].to_numpy() >= needed
        out[f"{pollutant}_exceedance_days"] = groups[f"exceeds_{pollutant}"].sum().astype(int)
    return out.reset_index()


def summary(
    rows: pd.DataFrame, units: list[str], pollutants: list[Pollutant], per: str = "day"
) -> pd.DataFrame:
    """Per unit over the whole window, counted in ``per`` (days or hours): valid and
    exceedance ones per pollutant (where it has a limit at that averaging), those with an
    AQI over 100 (not 达标) and the highest AQI."""
    groups = rows.groupby(units, sort=True)
    out = groups.size().rename(f"{per}s_reported").to_frame()
    for pollutant in pollutants:
        out[f"{pollutant}_valid_{per}s"] = groups[pollutant].count()
        if f"exceeds_{pollutant}" in rows:
            exceeded = groups[f"exceeds_{pollutant}"].sum().astype(int)
            out[f"{pollutant}_exceedance_{per}s"] = exceeded
    out[f"{per}s_aqi_over_100"] = groups["aqi"].apply(lambda a: int((a > 100).sum()))
    out["aqi_max"] = groups["aqi"].max()
    return out.reset_index()
