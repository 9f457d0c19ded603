"""Zonal statistics of the 124 counties over a ≥10,000 × 10,000 raster: OneMap vs rasterstats.

The raster (float32, tiled, deflate) is generated into a temp dir — not committed. Both tools
get the same raster and the same county polygons, and compute min, max, mean, std, count and
the median. OneMap weights each cell by its exact covered fraction; rasterstats counts the
cells whose centre falls inside (all_touched=False), so its numbers differ slightly at edges.
OneMap's figures are first checked against exactextract (the same exact coverage fractions).
Each configuration runs ``--rounds`` times, alternating the two tools; the medians are shown.

    flock /tmp/onemap-bench.lock .venv/bin/python bench/spatial_zonal.py [--size 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_bounds

from spatial.zonal import zonal_statistics

ADMIN = Path(__file__).resolve().parents[1] / "ingest" / "sample" / "guangdong_admin_cnmaps.gpkg"


def write_raster(path: Path, size: int, bounds: tuple[float, float, float, float]) -> None:
    """A smooth 'terrain' plus noise, written in 1024-row strips (bounded memory)."""
    rng = np.random.default_rng(6)
    transform = from_bounds(*bounds, size, size)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4490",
        "transform": transform,
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "BIGTIFF": "YES",
    }
    cols = np.linspace(0, 6 * np.pi, size, dtype=np.float32)
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, 1024):
            rows = np.arange(top, min(top + 1024, size), dtype=np.float32)[:, None]
            base = 400 * (np.sin(cols)[None, :] * np.cos(rows / size * 5 * np.pi) + 1)
            noise = rng.normal(0, 20, (len(rows), size)).astype(np.float32)
            window = rasterio.windows.Window(0, top, size, len(rows))
            dst.write((base + noise).astype(np.float32), 1, window=window)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; medians shown")
    parser.add_argument("--skip-rasterstats", action="store_true")
    args = parser.parse_args()
    counties = gpd.read_file(ADMIN, layer="gd_county").set_crs(4490, allow_override=True)
    bounds = tuple(float(v) for v in counties.total_bounds)
    with tempfile.TemporaryDirectory(prefix="onemap-bench-") as folder:
        path = Path(folder) / "raster.tif"
        started = time.perf_counter()
        write_raster(path, args.size, bounds)  # type: ignore[arg-type]
        print(f"raster {args.size}×{args.size} written in {time.perf_counter() - started:.1f}s")
        check_exactness(path, counties)
        rows = [
            compare(path, counties, stats, percentiles, args.rounds, args.skip_rasterstats)
            for stats, percentiles in (
                ("min max mean std count", ()),
                ("min max mean std count median", (50,)),
            )
        ]
    print(f"\n| statistics | raster | zones | OneMap s | rasterstats s | speed-up |\n{'|---' * 6}|")
    for stats, onemap_s, rasterstats_s in rows:
        print(
            f"| {stats} | {args.size:,}×{args.size:,} | {len(counties)} | {onemap_s:.2f}"
            f" | {rasterstats_s:.2f} | ×{rasterstats_s / onemap_s:.1f} |"
        )


def check_exactness(path: Path, counties: gpd.GeoDataFrame) -> None:
    """OneMap against exactextract, which computes the same exact coverage fractions."""
    from exactextract import exact_extract

    ours = zonal_statistics(path, counties, percentiles=())
    theirs = exact_extract(str(path), counties, ["count", "mean", "stdev"], output="pandas")
    for mine, name in (("valid_count", "count"), ("mean", "mean"), ("std", "stdev")):
        expected = theirs[name].to_numpy()
        diff = np.nanmax(np.abs(ours[mine].to_numpy() - expected) / np.abs(expected))
        print(f"largest relative difference from exactextract, {mine}: {diff:.1e}")


def compare(
    path: Path,
    counties: gpd.GeoDataFrame,
    stats: str,
    percentiles: tuple[int, ...],
    rounds: int,
    skip_rasterstats: bool,
) -> tuple[str, float, float]:
    """Median seconds of OneMap and of rasterstats, run alternately on the same inputs."""
    onemap_s, rasterstats_s = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        ours = zonal_statistics(path, counties, percentiles=percentiles)
        onemap_s.append(time.perf_counter() - started)
        if skip_rasterstats:
            continue
        from rasterstats import zonal_stats

        started = time.perf_counter()
        theirs = zonal_stats(counties, str(path), stats=stats)
        rasterstats_s.append(time.perf_counter() - started)
    print(f"[{stats}] OneMap: {', '.join(f'{s:.2f}' for s in onemap_s)} s")
    if skip_rasterstats:
        return stats, float(np.median(onemap_s)), float("nan")
    print(f"[{stats}] rasterstats: {', '.join(f'{s:.2f}' for s in rasterstats_s)} s")
    means = np.array([t["mean"] for t in theirs], dtype=float)
    diff = np.nanmax(np.abs(means - ours["mean"].to_numpy()) / np.abs(means))
    print(f"[{stats}] largest relative difference of the county means (edge cells): {diff:.1e}")
    return stats, float(np.median(onemap_s)), float(np.median(rasterstats_s))


if __name__ == "__main__":
    main()
