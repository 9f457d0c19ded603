"""Fixtures for ingest tests: a helper that publishes with sensible defaults."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.options import IngestOptions, IngestResult
from ingest.pipeline import ingest_file
from layers.catalog import Catalog, load_catalog
from layers.catalog_write import LayerMeta

_ids = itertools.count(1)
Publish = Callable[..., IngestResult]


@pytest.fixture
def layer_id() -> str:
    """A fresh layer id per test (the database is shared by the whole run)."""
    return f"t{next(_ids)}-layer"


@pytest.fixture
def publish(migrated_url: str, tmp_path: Path) -> Publish:
    def run(path: Path, layer_id: str, *, new: bool | None = None, **options: Any) -> IngestResult:
        meta_fields = {k: options.pop(k) for k in ("level", "adcode", "theme") if k in options}
        meta = LayerMeta(
            layer_id,
            "测试图层",
            "Test layer",
            meta_fields.get("level", ""),
            meta_fields.get("adcode", ""),
            theme=meta_fields.get("theme"),
        )
        opts = IngestOptions(expect_new=new, raster_dir=tmp_path / "rasters", **options)
        return ingest_file(migrated_url, path, meta, opts)

    return run


@pytest.fixture
def catalog(migrated_url: str) -> Callable[[], Catalog]:
    def read() -> Catalog:
        with psycopg.connect(migrated_url) as conn:
            return load_catalog(conn)

    return read


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query.encode(), params).fetchall()
