"""Turn an ingest request (CLI flags or upload form) into catalog fields and options.

Shared by ``onemap ingest`` and the upload route; no web framework here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.datum import load_datum_shifts
from ingest.infer import layer_id_from_name
from ingest.options import IngestOptions
from layers.catalog_write import LayerMeta, existing_meta
from layers.db import connect
from layers.settings import IngestSettings

META_FIELDS = (
    "title_zh",
    "title_en",
    "description_zh",
    "level",
    "adcode",
    "department_id",
    "theme",
    "access_level",
    "license",
    "attribution",
)


def build_meta(
    database_url: str,
    path: Path,
    layer_id: str | None,
    new_id: str | None,
    overrides: dict[str, Any],
) -> LayerMeta:
    """An existing layer's fields (``layer_id``) or a new layer's, with overrides applied."""
    if layer_id:
        with connect(database_url) as conn:
            meta = existing_meta(conn, layer_id)
    else:
        stem = path.name.split(".")[0]
        meta = LayerMeta(new_id or layer_id_from_name(path), stem, stem, "", "")
    for key in META_FIELDS:
        if overrides.get(key):
            setattr(meta, key, overrides[key])
    return meta


def build_options(settings: IngestSettings, *, expect_new: bool, **given: Any) -> IngestOptions:
    """Ingest options from request values plus the operator's datum settings."""
    shifts = load_datum_shifts(settings.datum_shifts) if settings.datum_shifts else ()
    return IngestOptions(
        expect_new=expect_new,
        datum_shifts=shifts,
        datum_policy=settings.datum_policy,
        raster_dir=settings.raster_dir.resolve(),
        batch_rows=settings.ingest_batch_rows,
        work_root=settings.upload_dir,
        max_upload_mb=settings.max_upload_mb,
        **{k: v for k, v in given.items() if v is not None},
    )
