"""Settings classes (environment variables with the ``ONEMAP_`` prefix).

They are instantiated by the CLI and the app factory and passed down, and
``AdminSettings`` by an analysis ``Context`` that is given no admin layers (a job,
a notebook); no module keeps a global instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from layers.access.oidc_settings import OidcSettings
from layers.crs import ServedCrs
from layers.durations import parse_retention
from layers.platform import DEFAULT_ADMIN_LAYERS, AdminLayers, admin_layers
from layers.webhooks.settings import WebhookSettings


def _comma_separated(value: object) -> object:
    """``a,b , c`` → ``["a", "b", "c"]`` (a list given as a list passes as it is)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)]


class DatabaseSettings(BaseSettings):
    """Where PostGIS is, or where the embedded cluster lives."""

    # A database URL may hold a password: errors name the setting, never its value.
    model_config = SettingsConfigDict(
        env_prefix="ONEMAP_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; unset = start the embedded PostGIS cluster.",
    )
    data_dir: Path = Field(
        default=Path(".onemap"),
        description="Where the embedded cluster, tile cache and uploads live.",
    )
    embedded_port: int = Field(default=55432, description="TCP port of the embedded cluster.")
    read_database_url: CommaList = Field(
        default=[],
        description="Streaming standbys of the primary, comma-separated: items, tiles, "
        "search and WMTS read there once a standby has replayed what they need.",
    )
    pool_min_size: int = 1
    pool_max_size: int = 10
    statement_timeout_ms: int = Field(
        default=30_000, description="Per-statement timeout for request queries."
    )
    pool_acquire_timeout_ms: int = Field(
        default=1_000,
        ge=50,
        description="Longest wait of a request for a pooled connection; beyond it (the "
        "database down or restarting, or every connection busy) a 503 with Retry-After.",
    )
    connect_timeout_s: int = Field(
        default=2,
        ge=2,
        description="libpq connect_timeout of every service connection (whole seconds, ≥ 2): "
        "bounds each reconnection attempt to a database host that does not answer.",
    )
    slow_query_ms: int = Field(
        default=500,
        ge=0,
        description="Request statements running at least this long are logged with their "
        "layer and request id (0: none).",
    )

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @field_validator("read_database_url")
    @classmethod
    def _read_urls_parse(cls, urls: list[str]) -> list[str]:
        for number, url in enumerate(urls, 1):
            try:
                conninfo_to_dict(url)
            except psycopg.ProgrammingError:  # its text may quote the password: not shown
                raise ValueError(
                    f"entry {number} is not a PostgreSQL URL or conninfo "
                    "(postgresql://user@host:port/db, entries separated by commas)"
                ) from None
        return urls


class IngestSettings(DatabaseSettings):
    """How data is taken in (CLI, upload endpoint, sample loader)."""

    datum_shifts: Path | None = Field(
        default=None,
        description="JSON/TOML file of 7-/4-parameter sets (Xian 1980, Beijing 1954 → CGCS2000).",
    )
    datum_policy: Literal["warn", "refuse"] = Field(
        default="warn",
        description="With only PROJ's ballpark (null) datum shift: warn, or refuse.",
    )
    max_upload_mb: int = Field(default=2048, description="Largest accepted upload.")
    ingest_batch_rows: int = Field(
        default=16_384, description="Features read and copied per batch (memory per batch)."
    )
    publisher_token: str | None = Field(
        default=None,
        description="Bearer token of the local publisher/admin credential (scripts, uploads); "
        "unset = no such credential.",
    )

    @property
    def raster_dir(self) -> Path:
        return self.data_dir / "rasters"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"


class AdminSettings(BaseSettings):
    """Where administrative units are published (``within=``, analyses, tile seeding)."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    admin_layers: str = Field(
        default=DEFAULT_ADMIN_LAYERS,
        description="Province, city and county layers (with an adcode field) that "
        "within=<adcode>, analyses and `onemap tiles seed --adcode` resolve areas from.",
    )

    @property
    def admin(self) -> AdminLayers:
        return admin_layers(self.admin_layers)


class HttpSettings(BaseSettings):
    """How the service listens and answers over HTTP."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, description="HTTP worker processes.")
    public_url: str | None = Field(
        default=None, description="Base URL used in links; default: from the request."
    )
    cors_origins: CommaList = Field(
        default=["*"], description="CORS origins, comma-separated (`*`: any)."
    )
    gzip_level: int = Field(default=5, ge=1, le=9, description="gzip level of responses.")
    # Caps on what one request may send (ogc.http.limits). A reverse proxy in front should
    # cap earlier (nginx: large_client_header_buffers, client_max_body_size).
    max_url_bytes: int = Field(
        default=61_440,
        ge=1024,
        description="Longest request path and query (414 beyond); 60 KiB, below the 64 KiB "
        "uvicorn's parser (httptools) reads at all (beyond, its plain 400).",
    )
    max_header_bytes: int = Field(
        default=65_536, ge=1024, description="Largest sum of request header fields (431 beyond)."
    )
    max_body_mb: int = Field(
        default=64,
        ge=1,
        description="Largest request body but uploads (ONEMAP_MAX_UPLOAD_MB): 413 beyond.",
    )
    log_level: str = "info"
    access_log: bool = Field(
        default=False,
        description="Log every request (a Python call each, costly next to a cached tile); "
        "a reverse proxy usually keeps the access log.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines for people (text) or one JSON object per line (json).",
    )
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token that may read /metrics besides admins (a scraper's).",
    )


class AdmissionSettings(BaseSettings):
    """How many heavy requests (items pages, uncached tiles, processes, search) one worker
    runs at once, and how many may wait; beyond that a fast 503 with Retry-After."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    heavy_limit: int = Field(
        default=6,
        ge=1,
        description="Heavy requests a worker runs at once; keep it below "
        "ONEMAP_POOL_MAX_SIZE so cheap reads (single features) always find a connection.",
    )
    # A browser drawing a map asks ~30 uncached tiles at once (six at a time per host), each
    # 100-600 ms to make: a wait of a few service times, so a busy map is slow, not broken.
    heavy_queue: int = Field(
        default=32, ge=0, description="Heavy requests that may wait for a slot per worker."
    )
    heavy_wait_ms: int = Field(
        default=5000, ge=0, description="Longest wait for a slot before a 503."
    )


class RateLimitSettings(BaseSettings):
    """Requests per caller identity per window (``layers.access.rates``): anonymous callers
    by client address (an IPv6 /64 as one), keys and signed-in users by who they are."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    # A map view is a few hundred tiles; 6000 a minute is a busy user panning all the time.
    rate_limit_anonymous: int = Field(
        default=6000,
        ge=0,
        description="Requests per window from one client address (IPv6: one /64); 0 = none.",
    )
    rate_limit_key: int = Field(
        default=0,
        ge=0,
        description="Requests per window of one API key or signed-in user, unless the key "
        "sets its own (onemap keys create --rate-limit); 0 = none.",
    )
    rate_window_s: int = Field(
        default=60, ge=1, le=3600, description="Length of a rate-limit window in seconds."
    )


class JobSettings(BaseSettings):
    """Asynchronous work per caller, how long jobs and their results are kept, and the
    lease that lets a job outlive the server process that runs it (migration 0021)."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    jobs_max_open: int = Field(
        default=4,
        ge=0,
        description="Jobs one caller may have accepted or running at once; 0 = no limit.",
    )
    jobs_per_day: int = Field(
        default=500,
        ge=0,
        description="Process executions (jobs) one caller may submit per day (China "
        "Standard Time); 0 = no limit.",
    )
    job_retention: Annotated[float | None, BeforeValidator(parse_retention)] = Field(
        default=7 * 86400.0,
        description="How long finished jobs and their results are kept (e.g. 7d, 12h, "
        "90m; 'forever' keeps them); in seconds once parsed.",
    )
    process_max_memory_mb: int = Field(
        default=4096,
        ge=0,
        description="Memory one process run may use: a run estimated above it is refused "
        "(413) before a job exists, and its heavy part runs in a child process that fails "
        "alone past it; 0 = no bound (heavy parts run in the server process).",
    )
    job_timeout_s: float = Field(
        default=900.0,
        ge=1.0,
        description="Wall-clock limit of an asynchronous job (a synchronous run has the "
        "statement timeout): past it the job fails, its SQL cancelled, its child stopped.",
    )
    job_lease_s: float = Field(
        default=30.0,
        ge=1.0,
        le=3600.0,
        description="A job's lease: renewed by its server process every third of it; a job "
        "whose process died is marked failed (or, still waiting, run elsewhere) once it ran out.",
    )


class ServiceDescription(BaseSettings):
    """What the service says about itself (landing page, WMTS ServiceIdentification)."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    title: str = "OneMap — 广东省地理信息公共平台 一张图"
    description: str = (
        "Guangdong Geographic Information Public Platform: one electronic map "
        "served by OGC API and WMTS."
    )
    provider_name: str = "OneMap"
    contact_email: str = "onemap@example.org"
    provider_site: str = Field(default="", description="Service provider web site (WMTS).")
    service_keywords: CommaList = Field(
        default=["广东", "Guangdong", "一张图", "WMTS", "OGC API"],
        description="Service keywords, comma-separated (WMTS capabilities).",
    )


class FeatureSettings(BaseSettings):
    """Pages of features."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    default_limit: int = 10
    max_limit: int = Field(default=10_000, description="Largest items page; larger is clamped.")
    exact_count_max: int = Field(
        default=10_000,
        description="Filtered items are counted exactly up to this many; beyond, numberMatched "
        "is omitted and the planner's estimate is given as onemap:numberMatchedEstimate.",
    )
    crs_by_reference: bool = Field(
        default=True,
        description="Serve and accept the CRSs of OGC API - Features Part 2 (declared); "
        "false: CRS84 only, no Part 2 declared, other CRSs are a 400 (docs/adr/0022).",
    )

    @property
    def served_crs(self) -> ServedCrs:
        return ServedCrs(self.crs_by_reference)


class TileSettings(DatabaseSettings):
    """The tile cache (it lives in ``data_dir`` unless told otherwise)."""

    tile_cache_dir: Path | None = Field(
        default=None,
        description="Tile cache directory (shared storage for replicas); default data_dir/tiles.",
    )
    tile_cache_max_age: int = Field(
        default=0,
        description="Cache-Control max-age of tiles in seconds; 0 = revalidate with the ETag "
        "every time, so a new layer version shows on the very next request.",
    )
    tile_memory_mb: int = Field(
        default=256,
        ge=0,
        description="Per worker: memory for the most recently served cached tiles, answered "
        "without reading their files (each encoding counts; 0 = always read the file).",
    )

    @property
    def tiles_dir(self) -> Path:
        return self.tile_cache_dir or self.data_dir / "tiles"


class ServiceSettings(
    HttpSettings,
    AdmissionSettings,
    RateLimitSettings,
    JobSettings,
    ServiceDescription,
    FeatureSettings,
    TileSettings,
    IngestSettings,
    AdminSettings,
):
    """Everything the web service needs: the per-concern classes above, composed in one
    (each also usable alone, e.g. ``TileSettings`` by a seeding run); the identity
    provider's settings are their own class (``ONEMAP_OIDC_*``), held as ``oidc``."""

    oidc: OidcSettings = Field(
        default_factory=OidcSettings,
        description="Bearer-token identity (ONEMAP_OIDC_*); unset issuer = no bearer tokens.",
    )

    webhooks: WebhookSettings = Field(
        default_factory=WebhookSettings,
        description="Delivery of change notifications (ONEMAP_WEBHOOK_*).",
    )
    load_sample_data: bool = Field(
        default=True, description="Load the bundled Guangdong layers on first start."
    )
