"""Publish a raster version: COG on storage, then the catalog rows in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from ingest.raster import RasterInfo, write_cog
from layers.catalog import FieldInfo
from layers.catalog_write import LayerMeta, VersionRecord, make_current, reserve_version


def publish_raster(
    conn: psycopg.Connection,
    source: Path,
    meta: LayerMeta,
    raster_dir: Path,
    *,
    source_crs: str | None,
    expect_new: bool | None,
    lineage: dict[str, Any],
    identity: tuple[str, str],
) -> tuple[int, RasterInfo]:
    """Write the COG and register it; the caller's transaction makes it visible."""
    version, exists = reserve_version(conn, meta.id, expect_new)
    target = raster_dir / meta.id / f"v{version}.tif"
    info = write_cog(source, target, source_crs)
    try:
        _register(conn, meta, version, exists, target, info, lineage, identity)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return version, info


def _register(
    conn: psycopg.Connection,
    meta: LayerMeta,
    version: int,
    exists: bool,
    target: Path,
    info: RasterInfo,
    lineage: dict[str, Any],
    identity: tuple[str, str],
) -> None:
    meta.kind = "raster"
    meta.metadata = {**meta.metadata, "raster": info.metadata()}
    bands = [FieldInfo(n, "number", n, n) for n in info.band_names]
    record = VersionRecord(
        layer_id=meta.id,
        version=version,
        table_name=target.name,
        fields=bands,
        geometry_type=None,
        extent=list(info.bounds),
        feature_count=info.width * info.height,
        lineage=lineage,
        source_sha256=identity[0],
        source_fingerprint=identity[1],
        asset_path=str(target.resolve()),
    )
    make_current(conn, meta, record, layer_exists=exists)
