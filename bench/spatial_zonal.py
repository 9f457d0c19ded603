"""Zonal statistics of the 124 counties over a ≥10,000 × 10,000 raster: OneMap vs rasterstats.

The raster (float32, tiled, deflate) is generated into a temp dir — not committed. Both tools
get the same raster and the same county polygons, and compute min, max, mean, std, count and
the median. OneMap weights each cell by its exact covered fraction; rasterstats counts the
cells whose centre falls inside (all_touched=False), so its numbers differ slightly at edges.

    .venv/bin/python bench/spatial_zonal.py [--size 10000] [--skip-rasterstats]
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
    parser.add_argument("--skip-rasterstats", action="store_true")
    args = parser.parse_args()
    counties = gpd.read_file(ADMIN, layer="gd_county").set_crs(4490, allow_override=True)
    bounds = tuple(float(v) for v in counties.total_bounds)
    with tempfile.TemporaryDirectory(prefix="onemap-bench-") as folder:
        path = Path(folder) / "raster.tif"
        started = time.perf_counter()
        write_raster(path, args.size, bounds)  # type: ignore[arg-type]
        print(f"raster {args.size}×{args.size} written in {time.perf_counter() - started:.1f}s")
        for stats, percentiles in (
            ("min max mean std count", ()),
            ("min max mean std count median", (50,)),
        ):
            compare(path, counties, stats, percentiles, args.skip_rasterstats)


def compare(
    path: Path,
    counties: gpd.GeoDataFrame,
    stats: str,
    percentiles: tuple[int, ...],
    skip_rasterstats: bool,
) -> None:
    started = time.perf_counter()
    ours = zonal_statistics(path, counties, percentiles=percentiles)
    onemap_s = time.perf_counter() - started
    print(f"[{stats}] OneMap zonal_statistics (exact coverage): {onemap_s:.2f}s")
    if skip_rasterstats:
        return
    from rasterstats import zonal_stats

    started = time.perf_counter()
    theirs = zonal_stats(counties, str(path), stats=stats)
    rasterstats_s = time.perf_counter() - started
    print(
        f"[{stats}] rasterstats zonal_stats: {rasterstats_s:.2f}s"
        f"  → OneMap speed-up ×{rasterstats_s / onemap_s:.2f}"
    )
    means = np.array([t["mean"] for t in theirs], dtype=float)
    diff = np.nanmax(np.abs(means - ours["mean"].to_numpy()) / np.abs(means))
    print(f"largest relative difference of the county means: {diff:.2e}")


if __name__ == "__main__":
    main()
