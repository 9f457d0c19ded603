"""Maps and charts for the notebooks: one look for every figure, drawn off-screen (Agg).

A map is north-up in longitude/latitude (CGCS2000 ≈ WGS 84 here), its x:y scale set by the
cosine of its middle latitude so that shapes are not stretched, with the county boundaries
as context, a north arrow, a legend and a title. ``show`` puts a figure into the notebook
as a PNG (it needs no screen) and closes it.
"""

from __future__ import annotations

import math
from io import BytesIO

import matplotlib

matplotlib.use("Agg")  # no screen: figures are rendered to PNG

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "DejaVu Sans"]
plt.rcParams["axes.unicode_minus"] = False
BOUNDARY = "0.55"


def base_map(
    counties: gpd.GeoDataFrame,
    title: str,
    bounds: tuple[float, float, float, float] | None = None,
    margin: float = 0.05,
) -> tuple[Figure, Axes]:
    """A figure with the county boundaries over ``bounds`` (lon/lat; default: all counties)."""
    west, south, east, north = bounds if bounds is not None else counties.total_bounds
    pad_x, pad_y = (east - west) * margin, (north - south) * margin
    fig, ax = plt.subplots(figsize=(7.5, 6))
    counties.to_crs(4490).boundary.plot(ax=ax, color=BOUNDARY, linewidth=0.5, zorder=1)
    ax.set_xlim(west - pad_x, east + pad_x)
    ax.set_ylim(south - pad_y, north + pad_y)
    ax.ticklabel_format(useOffset=False, style="plain")  # 113.25, not +1.132e2
    ax.set_aspect(1 / math.cos(math.radians((south + north) / 2)))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title)
    ax.annotate(
        "N",
        xy=(0.96, 0.97),
        xytext=(0.96, 0.87),
        xycoords="axes fraction",
        ha="center",
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "black"},
    )
    return fig, ax


def area(color: str, label: str, alpha: float = 0.6) -> Patch:
    return Patch(facecolor=color, edgecolor="black", linewidth=0.5, alpha=alpha, label=label)


def line(color: str, label: str, width: float = 1.5) -> Line2D:
    return Line2D([], [], color=color, linewidth=width, label=label)


def dot(color: str, label: str, marker: str = "o", size: float = 7) -> Line2D:
    return Line2D([], [], color=color, marker=marker, linestyle="", markersize=size, label=label)


def legend(ax: Axes, *handles: Artist) -> None:
    """The legend: the layers drawn (``handles``), then the county boundaries."""
    everything = [*handles, line(BOUNDARY, "county boundary", 0.8)]
    ax.legend(handles=everything, loc="lower right", fontsize=8, framealpha=0.9)


def raster_cells(geotiff: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A single-band GeoTIFF's cells for ``pcolormesh``: the longitudes and latitudes of their
    corners (EPSG:4490, from the raster's own CRS, without resampling) and their values (NaN
    where empty)."""
    from pyproj import Transformer
    from rasterio.io import MemoryFile

    with MemoryFile(BytesIO(geotiff)) as memory, memory.open() as source:
        values = source.read(1, masked=True).astype("float64").filled(np.nan)
        t, crs = source.transform, source.crs
        rows, cols = np.mgrid[0 : source.height + 1, 0 : source.width + 1]
    xs, ys = t.c + cols * t.a + rows * t.b, t.f + cols * t.d + rows * t.e
    lon, lat = Transformer.from_crs(crs, 4490, always_xy=True).transform(xs, ys)
    return lon, lat, values


def show(fig: Figure) -> None:
    """Put ``fig`` into the notebook as a PNG (rendered here by Agg), then close it."""
    from IPython.display import Image, display

    fig.tight_layout()
    png = BytesIO()
    fig.savefig(png, format="png", dpi=90)
    plt.close(fig)
    display(Image(data=png.getvalue(), format="png"))  # type: ignore[no-untyped-call]
