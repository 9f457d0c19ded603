"""Keep a features or raster output as a new governed layer, through the normal ingest path.

A result may become a new layer, or a new version of a layer that an analysis publish
created for the same caller (``metadata.origin == "analysis"``, ``derived_from.owner``).
Any other existing layer is refused with 409, as ``POST /ingest`` refuses an id clash:
an analysis must never replace a department's layer or its metadata.

Publishing is a write (``ogc.gate.ownership``): the job's owner must be a publisher or an
admin, the result layer belongs to the owner's department (or keeps its own), and its access
level is the strictest of its input layers' — a result of a restricted layer is restricted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from pydantic import BaseModel, Field

from ingest.pipeline import IngestOptions, ingest_file
from layers.access.audit import AuditEvent
from layers.access.caller import Caller
from layers.catalog import Catalog
from layers.catalog_write import LayerMeta, department_ids
from layers.db import connect
from layers.errors import Conflict, Forbidden, InvalidParameter
from ogc.gate.ownership import may_write, new_layer_department, result_meta
from ogc.processes.jobs import processes_sql
from spatial.results import AnalysisResult

ORIGIN = "analysis"  # metadata.origin of a layer an analysis publish created
NOT_A_PUBLISHER = "publishing a result needs a publisher of a department or an admin"


class PublishRequest(BaseModel):
    """``"publish"`` in an execute request: which features output becomes which collection."""

    collection: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$", description="New layer id")
    output: str = Field(description="A features or raster output of the process")
    title: str | None = None
    title_en: str | None = None
    level: str = "province"
    adcode: str = Field("440000", pattern=r"^[0-9]{6}$")
    department: str | None = Field(
        None, max_length=48, description="The new layer's department (if you publish for several)"
    )


def owner_label(caller: Caller) -> str:
    """The name a result layer records for the caller who published it
    (``metadata.derived_from.owner``; ``"token"`` for the publisher token's holder)."""
    return caller.subject or "anonymous"


def check_may_publish(
    layer_id: str,
    existing: tuple[dict[str, Any], str | None] | None,
    caller: Caller,
    named_department: str | None,
    known: list[str],
) -> str | None:
    """The department the result layer belongs to — or the 403/409/400 refusing it.

    ``existing`` is the target layer's (metadata, department), None when it is new."""
    if existing is None:
        try:
            return new_layer_department(caller, named_department, known)
        except Forbidden as exc:
            raise Forbidden(f"{NOT_A_PUBLISHER}: {exc.message}") from None
    metadata, department = existing
    check_target(layer_id, metadata, owner_label(caller))  # 409: no result layer, or another's
    if not may_write(department, caller):
        raise Forbidden(f"{NOT_A_PUBLISHER} of the layer's department ({department})")
    return department


def check_target(layer_id: str, existing: dict[str, Any] | None, caller: str) -> bool:
    """Whether ``layer_id`` exists (a new version) — or 409 when a result may not go there.

    ``existing`` is the layer's catalog metadata, None when there is no such layer.
    """
    if existing is None:
        return False
    owner = (existing.get("derived_from") or {}).get("owner")
    if existing.get("origin") != ORIGIN:
        raise Conflict(
            f"publish.collection '{layer_id}' is an existing layer that no analysis created; "
            "a result may only become a new layer or a new version of an earlier result layer "
            "— choose another id"
        )
    if owner != caller:
        raise Conflict(
            f"publish.collection '{layer_id}' is a result layer of another publisher; "
            "choose another id"
        )
    return True


PUBLISHABLE = ("features", "raster")  # output kinds a result layer can be made of


def _writable(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """GeoPackage takes scalars only: nested values become their text."""
    frame = frame.copy()
    for column in frame.columns:
        if column != frame.geometry.name and frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: v if v is None else str(v))
    return frame


def result_file(result: AnalysisResult, output: str, folder: Path, name: str) -> Path:
    """The output written where ingest reads it: a GeoPackage of features, or a GeoTIFF of a
    raster (ingest makes it a COG, served by the raster tile path). Empty: a 400."""
    if output in result.features:
        frame = result.features[output]
        if frame.empty:
            raise InvalidParameter(f"output '{output}' is empty; there is nothing to publish")
        path = folder / f"{name}.gpkg"
        _writable(frame).to_file(path, driver="GPKG")
        return path
    if output in result.rasters:
        raster = result.rasters[output]
        if not np.isfinite(raster.data).any():
            raise InvalidParameter(f"output '{output}' has no data; there is nothing to publish")
        path = folder / f"{name}.tif"
        path.write_bytes(raster.to_geotiff())
        return path
    raise InvalidParameter(f"output '{output}' is not a features or raster output")


def publish_result(
    database_url: str,
    result: AnalysisResult,
    request: PublishRequest,
    *,
    process_id: str,
    job_id: str,
    parameters: dict[str, object],
    owner: Caller,
    catalog: Catalog,
    raster_dir: Path,
    audit: AuditEvent | None = None,
) -> int:
    """Publish output ``request.output`` of ``result`` (features or a raster) as
    ``request.collection`` for ``owner``; return the version published.

    The layer's lineage (``metadata.derived_from``) names the process, the job, the input
    layers with their versions and the parsed parameters. The checks run again here, on the
    database's current rows: the job may have waited. ``audit`` is written in the
    publishing transaction (``IngestOptions.audit``)."""
    with connect(database_url, autocommit=True) as conn:
        row = conn.execute(processes_sql("publish_target"), (request.collection,)).fetchone()
        known = department_ids(conn)
    existing = None if row is None else (row[0], row[1])
    department = check_may_publish(request.collection, existing, owner, request.department, known)
    inputs = [str(entry["layer"]) for entry in result.lineage if "layer" in entry]
    derived: dict[str, Any] = {
        "process": process_id,
        "job": job_id,
        "inputs": result.lineage,
        "parameters": parameters,
        "owner": owner_label(owner),
    }
    meta = LayerMeta(
        id=request.collection,
        title_zh=request.title or f"{process_id} 结果",
        title_en=request.title_en or request.title or f"Result of {process_id}",
        description_en=f"Output '{request.output}' of process {process_id} (job {job_id}).",
        level=request.level,
        adcode=request.adcode,
        keywords=["analysis result", process_id],
        metadata={"origin": ORIGIN, "derived_from": derived},
    )
    meta = result_meta(meta, catalog, inputs, None if row is None else row[2], department)
    with tempfile.TemporaryDirectory(prefix="onemap-result-") as folder:
        path = result_file(result, request.output, Path(folder), request.collection)
        ingested = ingest_file(
            database_url,
            path,
            meta,
            IngestOptions(
                who=owner_label(owner),
                raster_dir=raster_dir,
                expect_new=existing is None,
                audit=audit,
            ),
        )
    return ingested.version
