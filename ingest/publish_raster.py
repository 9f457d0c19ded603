"""Publish a raster version: COG on storage, then the catalog rows in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ingest.publish import LayerMeta, reserve_version, sql_text
from ingest.raster import RasterInfo, write_cog


def publish_raster(
    conn: psycopg.Connection,
    source: Path,
    meta: LayerMeta,
    raster_dir: Path,
    *,
    source_crs: str | None,
    expect_new: bool | None,
    lineage: dict[str, Any],
    source_sha256: str,
) -> tuple[int, RasterInfo]:
    """Write the COG and register it; the caller's transaction makes it visible."""
    version, exists = reserve_version(conn, meta.id, expect_new)
    target = raster_dir / meta.id / f"v{version}.tif"
    info = write_cog(source, target, source_crs)
    try:
        _register(conn, meta, version, exists, target, info, lineage, source_sha256)
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
    source_sha256: str,
) -> None:
    meta.kind = "raster"
    meta.metadata = {**meta.metadata, "raster": info.metadata()}
    conn.execute(sql_text("update_layer" if exists else "insert_layer"), meta.params(version))
    conn.execute(
        sql_text("insert_version"),
        {
            "layer_id": meta.id,
            "version": version,
            "table_name": target.name,
            "storage_srid": 4490,
            "geometry_type": None,
            "extent": list(info.bounds),
            "temporal_start": None,
            "temporal_end": None,
            "temporal_field": None,
            "field_schema": Jsonb(
                [
                    {"name": n, "type": "number", "source_name": n, "title": n}
                    for n in info.band_names
                ]
            ),
            "feature_count": info.width * info.height,
            "source_sha256": source_sha256,
            "lineage": Jsonb(lineage),
            "created_by": lineage.get("who") or "onemap",
        },
    )
    conn.execute(
        "UPDATE onemap.layer_versions SET asset_path = %s WHERE layer_id = %s AND version = %s",
        (str(target.resolve()), meta.id, version),
    )
