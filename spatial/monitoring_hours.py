"""Monitoring series by hour: the HJ 633-2012 hourly (real-time) report per station-hour.

Each station's readings lie on a continuous CST hour axis from its first hour to its last,
so the moving means that reach back across midnight (and over missing hours) are exact:
SO2's 24-hour mean (GB 3095-2012 Table 4: at least 20 valid hours), which indexes SO2
where its hour is above 800 µg/m³, and O3's 8-hour mean (at least 6 of 8, HJ 663-2013),
reported beside its hour. The hourly AQI indexes O3 by its 1-hour mean: the 8-hour row
and its rule (above 800 µg/m³ the 1-hour index) belong to the daily report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.errors import PayloadTooLarge
from spatial.aqi import GRADE_II_1H, Pollutant, hourly_iaqi
from spatial.monitoring import timed_readings, with_aqi

# Station-hours held at once (about 8 float arrays of them): ~1,100 station-years.
MAX_STATION_HOURS = 10_000_000
MOVING = {"so2": ("so2_24h", 24, 20), "o3": ("o3_8h", 8, 6)}  # column, hours, valid needed
HOUR = np.timedelta64(1, "h")


def monitoring_hours(
    readings: pd.DataFrame,
    station_field: str,
    time_field: str,
    fields: dict[Pollutant, str],
) -> pd.DataFrame:
    """One row per station and CST hour with a reading: ``station``, ``hour`` (its start,
    ISO 8601 with +08:00) and per pollutant its 1-hour mean (two readings in one hour:
    their mean), with ``so2_24h`` and ``o3_8h`` (moving means ending with the hour)."""
    readings, local = timed_readings(readings, time_field)
    number = ((local.dt.floor("h").to_numpy() - np.datetime64(0, "h")) // HOUR).astype(np.int64)
    station = readings[station_field].astype(str).to_numpy()
    axis = _StationAxis(station, number)
    cells = np.unique(axis.cell)
    table = pd.DataFrame({"station": axis.names[axis.station_of(cells)]})
    hours = axis.first[axis.station_of(cells)] + cells - axis.offset[axis.station_of(cells)]
    table["hour"] = pd.to_datetime(hours * HOUR + np.datetime64(0, "h"))
    for pollutant, field in fields.items():
        values = pd.to_numeric(readings[field], errors="coerce").to_numpy(dtype=float)
        grid = axis.means(values)
        table[pollutant] = grid[cells]
        if pollutant in MOVING:
            column, width, needed = MOVING[pollutant]
            table[column] = axis.moving_mean(grid, width, needed)[cells]
    table["hour"] = table["hour"].dt.strftime("%Y-%m-%dT%H:%M+08:00")
    return table


class _StationAxis:
    """The stations' hour axes laid end to end: station ``i`` owns the cells from
    ``offset[i]``, one per hour from its first reading's hour to its last's."""

    def __init__(self, station: np.ndarray, number: np.ndarray) -> None:
        self.names, code = np.unique(station, return_inverse=True)
        self.first = np.full(len(self.names), np.iinfo(np.int64).max)
        np.minimum.at(self.first, code, number)
        last = np.full(len(self.names), np.iinfo(np.int64).min)
        np.maximum.at(last, code, number)
        spans = last - self.first + 1
        self.size = int(spans.sum())
        if self.size > MAX_STATION_HOURS:
            raise PayloadTooLarge(
                f"window: the hourly series would span {self.size:,} station-hours, more "
                f"than {MAX_STATION_HOURS:,}; narrow the window or the layer's filter"
            )
        self.offset = np.concatenate([[0], np.cumsum(spans)[:-1]])
        self.cell = self.offset[code] + number - self.first[code]

    def station_of(self, cells: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offset, cells, side="right") - 1

    def means(self, values: np.ndarray) -> np.ndarray:
        """The mean of each cell's readings; NaN where it has none."""
        present = ~np.isnan(values)
        sums = np.bincount(self.cell[present], weights=values[present], minlength=self.size)
        counts = np.bincount(self.cell[present], minlength=self.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / counts, np.nan)

    def moving_mean(self, grid: np.ndarray, width: int, needed: int) -> np.ndarray:
        """The mean of each cell's ``width`` hours ending with it (not before its station's
        first hour), NaN with fewer than ``needed`` valid ones."""
        valid = ~np.isnan(grid)
        sums = np.concatenate([[0.0], np.cumsum(np.where(valid, grid, 0.0))])
        counts = np.concatenate([[0], np.cumsum(valid)])
        end = np.arange(1, self.size + 1)
        start = np.maximum(end - width, self.offset[self.station_of(end - 1)])
        n = counts[end] - counts[start]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n >= needed, (sums[end] - sums[start]) / n, np.nan)


def with_hour_indices(hours: pd.DataFrame, pollutants: list[Pollutant]) -> pd.DataFrame:
    """Add ``iaqi_<p>`` (``hourly_iaqi``), ``aqi``, ``primary``, ``category`` and, for the
    pollutants with a GB 3095-2012 grade II 1-hour limit, ``exceeds_<p>``."""
    out = hours.copy()
    for pollutant in pollutants:
        daily = out["so2_24h"] if pollutant == "so2" else None
        out[f"iaqi_{pollutant}"] = hourly_iaqi(pollutant, out[pollutant], daily)
        if pollutant in GRADE_II_1H:
            out[f"exceeds_{pollutant}"] = out[pollutant] > GRADE_II_1H[pollutant]
    return with_aqi(out, pollutants)


def hourly_columns(pollutants: list[Pollutant]) -> list[str]:
    """The columns a county's hour averages over its stations."""
    return [c for p in pollutants for c in ([p, MOVING[p][0]] if p in MOVING else [p])]
