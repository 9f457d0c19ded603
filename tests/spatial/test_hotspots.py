"""Kernel density and Getis-Ord Gi* (issue 17, analysis 6) against direct numpy
computations with pyproj.Geod distances: Gi* by its formula over the full distance matrix,
the density by summing the quartic kernel at sample cells, and its integral."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod

from layers.errors import InvalidParameter
from spatial.analyses import DEFAULT_REGISTRY
from spatial.context import Context
from spatial.geodesy import from_equal_area
from tests.access.ownership_fixtures import wait_for_layer
from tests.conftest import PUBLISHER

GEOD = Geod(ellps="GRS80")
RNG = np.random.default_rng(6)
BAND_M = 8000.0


def _points(n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Points near Guangzhou; values high in a cluster at its north-east corner."""
    lonlat = np.column_stack([RNG.uniform(113.2, 113.6, n), RNG.uniform(23.0, 23.3, n)])
    near = np.hypot(lonlat[:, 0] - 113.5, lonlat[:, 1] - 23.25) < 0.06
    values = RNG.normal(10, 2, n) + 15 * near
    return lonlat, values


def _inline(lonlat: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    features = [
        {"type": "Feature", "properties": {"v": float(v)},
         "geometry": {"type": "Point", "coordinates": [float(x), float(y)]}}
        for (x, y), v in zip(lonlat, values, strict=True)
    ]  # fmt: skip
    return {"features": {"type": "FeatureCollection", "features": features}}


def _gi_star_numpy(lonlat: np.ndarray, x: np.ndarray, band_m: float) -> np.ndarray:
    n = len(x)
    lon1, lon2 = np.meshgrid(lonlat[:, 0], lonlat[:, 0], indexing="ij")
    lat1, lat2 = np.meshgrid(lonlat[:, 1], lonlat[:, 1], indexing="ij")
    _, _, d = GEOD.inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    w = (np.asarray(d).reshape(n, n) <= band_m).astype(float)  # self included (d = 0)
    mean, s = x.mean(), np.sqrt((x**2).mean() - x.mean() ** 2)
    wsum = w.sum(axis=1)
    numerator = w @ x - mean * wsum
    denominator = s * np.sqrt((n * (w**2).sum(axis=1) - wsum**2) / (n - 1))
    z: np.ndarray = numerator / denominator
    return z


def test_gi_star_matches_the_formula_over_geod_distances() -> None:
    lonlat, values = _points()
    inputs = {"layer": _inline(lonlat, values), "value_field": "v", "distance_m": BAND_M}
    out = DEFAULT_REGISTRY.get("hotspots").execute(inputs, Context()).features["hotspots"]
    expected = _gi_star_numpy(lonlat, values, BAND_M)
    assert out["gi_z"].to_numpy() == pytest.approx(expected, abs=1e-9)
    hot = np.hypot(lonlat[:, 0] - 113.5, lonlat[:, 1] - 23.25) < 0.03
    assert (out["hotspot"][hot] == "hot 99").all()  # the cluster's core
    assert out["p_value"].between(0, 1).all()


def test_gi_star_per_cell_counts_points() -> None:
    lonlat, _ = _points()
    inputs = {"layer": _inline(lonlat, np.ones(len(lonlat))), "per": "cell", "cell_m": 5000,
              "distance_m": 12_000}  # fmt: skip
    cells = DEFAULT_REGISTRY.get("hotspots").execute(inputs, Context()).features["hotspots"]
    assert cells["value"].sum() == len(lonlat)
    centres = shapely.get_coordinates(shapely.centroid(cells.geometry.to_numpy()))
    expected = _gi_star_numpy(centres, cells["value"].to_numpy(), 12_000)
    assert cells["gi_z"].to_numpy() == pytest.approx(expected, abs=1e-9)
    with pytest.raises(InvalidParameter, match="value_field"):
        DEFAULT_REGISTRY.get("hotspots").execute({**inputs, "per": "feature"}, Context())


def test_kernel_density_sums_the_quartic_kernel() -> None:
    lonlat, values = _points(60)
    bandwidth, cell = 6000.0, 500.0
    inputs = {"points": _inline(lonlat, values), "weight_field": "v",
              "bandwidth_m": bandwidth, "cell_m": cell}  # fmt: skip
    density = DEFAULT_REGISTRY.get("kernel-density").execute(inputs, Context()).rasters["density"]
    # The kernel integrates to 1: the surface holds the total weight (cells ≪ bandwidth).
    assert density.data.sum() * (cell / 1000) ** 2 == pytest.approx(values.sum(), rel=1e-3)
    rows, cols = np.unravel_index(RNG.choice(density.data.size, 25), density.shape)
    t = density.transform
    centres = shapely.points(t.c + (cols + 0.5) * cell, t.f - (rows + 0.5) * cell)
    for (lon, lat), value in zip(
        shapely.get_coordinates(from_equal_area(centres)), density.data[rows, cols], strict=True
    ):
        _, _, d = GEOD.inv(np.full(len(lonlat), lon), np.full(len(lonlat), lat), *lonlat.T)
        u2 = (np.asarray(d) / bandwidth) ** 2
        kernel = np.where(u2 < 1, 3 / np.pi * (1 - u2) ** 2, 0) / (bandwidth / 1000) ** 2
        assert value == pytest.approx((values * kernel).sum(), rel=1e-2, abs=1e-6)


def test_a_density_surface_is_published_as_a_raster_layer(client: TestClient) -> None:
    lonlat, values = _points(30)
    body = {
        "inputs": {"points": _inline(lonlat, values), "bandwidth_m": 5000, "cell_m": 1000},
        "outputs": {"density": {}},
        "publish": {"collection": "test-kde", "output": "density", "title": "核密度"},
    }
    answer = client.post("/processes/kernel-density/execution", json=body, headers=PUBLISHER)
    assert answer.status_code == 200, answer.text
    with rasterio.open(io.BytesIO(answer.content)) as result:
        assert result.read(1).max() > 0
    layer = wait_for_layer(client, "test-kde")
    assert "raster" in layer["metadata"]
    assert layer["metadata"]["derived_from"]["process"] == "kernel-density"


@pytest.mark.parametrize("bandwidth_m", [5e-324, 499.0])
def test_a_kernel_under_half_a_cell_is_a_400(ctx: Context, bandwidth_m: float) -> None:
    """5e-324 m squared is 0: every cell was NaN (a 200); any kernel under half a cell can
    fall between cell centres and lose its points."""
    lonlat, values = _points(10)
    inputs = {"points": _inline(lonlat, values), "bandwidth_m": bandwidth_m, "cell_m": 1000}
    with pytest.raises(InvalidParameter, match=r"bandwidth_m: .* under half a cell"):
        DEFAULT_REGISTRY.get("kernel-density").execute(inputs, ctx)
    inputs["bandwidth_m"] = 500.0
    density = DEFAULT_REGISTRY.get("kernel-density").execute(inputs, ctx).rasters["density"]
    assert np.isfinite(density.data).all()
