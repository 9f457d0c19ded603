"""Generate SYNTHETIC hourly readings of the synthetic air-monitoring stations.

A time series for the demo, the notebooks and clients: every station of the synthetic
``stations`` layer (or the first ``--stations`` of them) reports PM2.5 and NO2 every hour
for 21 days from 2025-06-01 00:00 China Standard Time, with a daily cycle, a weekday
rhythm of NO2 and a pollution episode over the Pearl River Delta on 10–13 June. Nothing
here is a real measurement. Deterministic (fixed seed): running it again writes the
same file.

    .venv/bin/python scripts/generate_readings.py  # → ingest/sample/synthetic/*_readings.gpkg
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STATIONS = ROOT / "ingest" / "sample" / "synthetic" / "guangdong_synthetic.gpkg"
OUT = ROOT / "ingest" / "sample" / "synthetic" / "guangdong_station_readings.gpkg"
SEED = 20261201
DAYS = 21
FIRST_HOUR = pd.Timestamp("2025-06-01T00:00:00", tz="Asia/Shanghai")
EPISODE = pd.date_range("2025-06-10", "2025-06-14", periods=2, tz="Asia/Shanghai")
GUANGZHOU = (113.27, 23.13)
os.environ.setdefault("OGR_CURRENT_DATE", "2026-01-01T00:00:00.000Z")  # byte-identical output


def readings(stations: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    hours = pd.date_range(FIRST_HOUR, periods=DAYS * 24, freq="h")
    local_hour = hours.hour.to_numpy()
    daily_pm = 1 + 0.25 * np.cos(2 * np.pi * (local_hour - 8) / 24)  # morning haze
    daily_no2 = 1 + 0.35 * np.cos(2 * np.pi * (local_hour - 18) / 24)  # evening traffic
    weekday = np.where(hours.day_of_week.to_numpy() < 5, 1.1, 0.8)
    in_episode = (hours >= EPISODE[0]) & (hours < EPISODE[1])
    xy = np.column_stack([stations.geometry.x, stations.geometry.y])
    delta = np.exp(-((np.hypot(xy[:, 0] - GUANGZHOU[0], xy[:, 1] - GUANGZHOU[1]) / 1.5) ** 2))
    shape = (len(stations), len(hours))
    episode = 1 + 0.8 * np.outer(delta, in_episode)
    pm25 = stations["pm25"].to_numpy()[:, None] * daily_pm * episode
    pm25 = np.clip(pm25 + rng.normal(0, 3, shape), 1, None)
    no2 = stations["no2"].to_numpy()[:, None] * daily_no2 * weekday
    no2 = np.clip(no2 + rng.normal(0, 2, shape), 1, None)
    index = np.repeat(np.arange(len(stations)), len(hours))
    return gpd.GeoDataFrame(
        {
            "station_id": stations["station_id"].to_numpy()[index],
            "observed": np.tile(hours.tz_convert("UTC"), len(stations)),
            "pm25": pm25.ravel().round(1),
            "no2": no2.ravel().round(1),
            "synthetic": True,
        },
        geometry=stations.geometry.to_numpy()[index],
        crs=stations.crs,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=40, help="how many stations (default 40)")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    stations = gpd.read_file(STATIONS, layer="stations").sort_values("station_id")
    frame = readings(stations.head(args.stations).reset_index(drop=True), rng)
    OUT.unlink(missing_ok=True)
    frame.to_file(OUT, layer="readings", driver="GPKG", SPATIAL_INDEX="NO")
    print(f"readings: {len(frame)} features ({args.stations} stations × {DAYS} days × 24 h)")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
