"""Keep a features output as a new governed layer, through the normal ingest path."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
from pydantic import BaseModel, Field

from ingest.pipeline import IngestOptions, ingest_file
from layers.catalog_write import LayerMeta
from layers.errors import InvalidParameter


class PublishRequest(BaseModel):
    """``"publish"`` in an execute request: which features output becomes which collection."""

    collection: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$", description="New layer id")
    output: str = Field(description="A features output of the process")
    title: str | None = None
    title_en: str | None = None
    level: str = "province"
    adcode: str = Field("440000", pattern=r"^[0-9]{6}$")


def _writable(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """GeoPackage takes scalars only: nested values become their text."""
    frame = frame.copy()
    for column in frame.columns:
        if column != frame.geometry.name and frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: v if v is None else str(v))
    return frame


def publish_features(
    database_url: str,
    frame: gpd.GeoDataFrame,
    request: PublishRequest,
    *,
    process_id: str,
    job_id: str,
    lineage: list[dict[str, object]],
    caller: str,
    raster_dir: Path,
) -> int:
    """Publish ``frame`` as ``request.collection``; return the version published."""
    if frame.empty:
        raise InvalidParameter(f"output '{request.output}' is empty; there is nothing to publish")
    derived: dict[str, Any] = {
        "process": process_id,
        "job": job_id,
        "inputs": lineage,
        "owner": caller,
    }
    meta = LayerMeta(
        id=request.collection,
        title_zh=request.title or f"{process_id} 结果",
        title_en=request.title_en or request.title or f"Result of {process_id}",
        description_en=f"Output '{request.output}' of process {process_id} (job {job_id}).",
        level=request.level,
        adcode=request.adcode,
        keywords=["analysis result", process_id],
        metadata={"derived_from": derived},
    )
    with tempfile.TemporaryDirectory(prefix="onemap-result-") as folder:
        path = Path(folder) / f"{request.collection}.gpkg"
        _writable(frame).to_file(path, driver="GPKG")
        result = ingest_file(
            database_url, path, meta, IngestOptions(who=caller, raster_dir=raster_dir)
        )
    return result.version
