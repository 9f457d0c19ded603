"""monitoring-series' computation vs its floor, a bare pandas groupby of daily means.

A year of hourly PM2.5, NO2 and O3 at N stations (random, fixed seed; 5 % of hours
missing) goes through ``spatial.monitoring`` (CST days, validity counts, O3 8-hour
windows, HJ 633 indices, county roll-up) and through ``groupby([station, day]).mean()``,
which computes the means alone, without validity, O3 windows or indices. No database:
reading the rows is the items path's cost, measured by features_bench.py.

    .venv/bin/python bench/monitoring_bench.py [--stations 160] [--days 365]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from spatial.monitoring import county_days, monitoring_days, summary, with_indices

POLLUTANTS = {"pm25": "pm25", "no2": "no2", "o3": "o3"}


def readings(stations: int, days: int, rng: np.random.Generator) -> pd.DataFrame:
    hours = pd.date_range("2025-01-01", periods=days * 24, freq="h", tz="Asia/Shanghai")
    shape = stations * len(hours)
    frame = pd.DataFrame(
        {
            "station": np.repeat([f"S{i:04d}" for i in range(stations)], len(hours)),
            "observed": np.tile(hours.tz_convert("UTC"), stations),
            "pm25": rng.gamma(4, 10, shape),
            "no2": rng.gamma(4, 8, shape),
            "o3": rng.gamma(5, 20, shape),
        }
    )
    for name in POLLUTANTS:
        frame.loc[rng.random(shape) < 0.05, name] = np.nan
    return frame


def best_of(runs: int, work: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=160)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    frame = readings(args.stations, args.days, np.random.default_rng(20261203))
    codes = pd.Series(
        [f"4401{(i % 11) + 3:02d}" for i in range(args.stations)],
        index=[f"S{i:04d}" for i in range(args.stations)],
    )
    pollutants = list(POLLUTANTS)

    def onemap() -> None:
        days = with_indices(monitoring_days(frame, "station", "observed", POLLUTANTS), pollutants)
        units = with_indices(county_days(days, codes, pollutants), pollutants)
        summary(days, ["station"], pollutants), summary(units, ["adcode", "level"], pollutants)

    def floor() -> None:
        day = frame["observed"].dt.tz_convert("Asia/Shanghai").dt.date
        frame.groupby([frame["station"], day])[pollutants].mean()

    ours, peer = best_of(3, onemap), best_of(3, floor)
    print(f"{len(frame):,} hourly rows ({args.stations} stations × {args.days} days)")
    print(f"monitoring-series computation: {ours:.2f} s; pandas groupby means: {peer:.2f} s")
    print(f"ratio: {ours / peer:.1f}×")


if __name__ == "__main__":
    main()
