"""Air quality index per HJ 633-2012 and exceedance per GB 3095-2012 (grade II).

Concentrations are µg/m³, CO mg/m³. An individual index (IAQI) interpolates linearly
between the two breakpoints around the concentration (HJ 633-2012 Table 1 and formula 1):

    IAQI = (IAQI_hi - IAQI_lo) / (BP_hi - BP_lo) × (C - BP_lo) + IAQI_lo

The AQI is the largest IAQI, reported as an integer rounded up (进位取整); pollutants
whose IAQI equals it are primary (首要污染物) when the AQI exceeds 50. A concentration
above the top breakpoint has IAQI 500 (the table ends there).

The daily report indexes 24-hour means (O3: its daily maximum hour and 8-hour mean); the
hourly (real-time) report indexes 1-hour means: SO2, NO2, CO and O3 by their 1-hour rows,
PM10 and PM2.5, which have none, by their 24-hour rows (``hourly_iaqi``).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]

Pollutant = Literal["pm25", "pm10", "so2", "no2", "co", "o3"]
Averaging = Literal["24h", "1h", "8h"]

IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)

# HJ 633-2012 Table 1: concentration breakpoints matching IAQI_STEPS (prefixes for the
# 1-hour SO2 and 8-hour O3 rows, which the standard ends early).
BREAKPOINTS: dict[tuple[Pollutant, Averaging], tuple[float, ...]] = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}

# GB 3095-2012 Table 1, grade II (二级) 24-hour limits (O3: daily maximum 8-hour mean).
GRADE_II_24H: dict[Pollutant, float] = {
    "pm25": 75.0,
    "pm10": 150.0,
    "so2": 150.0,
    "no2": 80.0,
    "co": 4.0,
    "o3": 160.0,
}

# GB 3095-2012 Table 1, grade II 1-hour limits; PM10 and PM2.5 have no 1-hour limit.
GRADE_II_1H: dict[Pollutant, float] = {"so2": 500.0, "no2": 200.0, "co": 10.0, "o3": 200.0}

# HJ 633-2012 Table 2: upper AQI of each category.
CATEGORIES = (
    (50, "优"),
    (100, "良"),
    (150, "轻度污染"),
    (200, "中度污染"),
    (300, "重度污染"),
    (math.inf, "严重污染"),
)


def iaqi(pollutant: Pollutant, concentration: ArrayLike, averaging: Averaging = "24h") -> Floats:
    """The exact (unrounded) IAQI of each concentration; NaN stays NaN.

    Beyond a short row's end (1-hour SO2 over 800, 8-hour O3 over 800) the standard
    reports the other averaging's index instead, so NaN is returned there for the
    caller to substitute.
    """
    try:
        points = np.asarray(BREAKPOINTS[(pollutant, averaging)], dtype=float)
    except KeyError:
        raise ValueError(f"HJ 633-2012 has no {averaging} breakpoints for {pollutant}") from None
    values = np.asarray(concentration, dtype=float)
    steps = np.asarray(IAQI_STEPS[: len(points)], dtype=float)
    index = np.interp(values, points, steps)
    if len(points) < len(IAQI_STEPS):
        index = np.where(values > points[-1], np.nan, index)
    return np.asarray(np.where(values < 0, np.nan, index), dtype=np.float64)


def hourly_iaqi(
    pollutant: Pollutant, one_hour: ArrayLike, so2_24h: ArrayLike | None = None
) -> Floats:
    """The IAQI of 1-hour means as the hourly report computes it: 1-hour breakpoints where
    Table 1 has them, the 24-hour ones for PM10 and PM2.5. SO2 above 800 µg/m³ has no
    1-hour index (Table 1, note 2): its 24-hour mean's index is reported instead, from
    ``so2_24h`` (NaN where that is missing)."""
    if (pollutant, "1h") not in BREAKPOINTS:
        return iaqi(pollutant, one_hour)
    index = iaqi(pollutant, one_hour, "1h")
    if pollutant != "so2":
        return index
    daily = np.nan if so2_24h is None else iaqi("so2", so2_24h)
    beyond = np.asarray(one_hour, dtype=float) > BREAKPOINTS[("so2", "1h")][-1]
    return np.asarray(np.where(beyond, daily, index), dtype=np.float64)


def aqi(indices: ArrayLike) -> Floats:
    """Rows of IAQIs (one column per pollutant) → the AQI of each row, rounded up."""
    table = np.atleast_2d(np.asarray(indices, dtype=float))
    valid = ~np.isnan(table).all(axis=1)
    top = np.full(table.shape[0], np.nan)
    top[valid] = np.nanmax(table[valid], axis=1)
    return np.asarray(np.ceil(top), dtype=np.float64)


def category(value: float) -> str | None:
    """优 … 严重污染 of an AQI; None for a missing one."""
    if math.isnan(value):
        return None
    return next(name for upper, name in CATEGORIES if value <= upper)


def primary_pollutants(indices: dict[str, float], value: float) -> str | None:
    """The pollutants whose (rounded-up) IAQI is the AQI, comma-separated; none at AQI ≤ 50."""
    if math.isnan(value) or value <= 50:
        return None
    top = [n for n, index in indices.items() if not math.isnan(index) and math.ceil(index) == value]
    return ",".join(top) or None
