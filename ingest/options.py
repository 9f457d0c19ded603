"""What a caller asks of an ingest run, and what it gets back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.datum import DatumShift
from ingest.temporal import TimeOptions
from layers.access.audit import AuditEvent

Progress = Callable[[int, int], None]  # (features done, features expected)


@dataclass
class IngestOptions:
    source_layer: str | None = None  # layer of a GeoPackage/KML/FileGDB, or dataset in a zip
    encoding: str | None = None  # force an attribute encoding (verified against the bytes)
    source_crs: str | None = None  # "EPSG:4547", a WKT, or "gcj02" for web-map coordinates
    keep_z: bool = False
    single_parts: bool = False  # Polygon/LineString columns when no feature has several parts
    expect_new: bool | None = None  # True: must not exist; False: must exist; None: either
    who: str | None = None
    datum_shifts: tuple[DatumShift, ...] = ()
    datum_policy: Literal["warn", "refuse"] = "warn"
    raster_dir: Path = Path(".onemap/rasters")
    batch_rows: int = 16_384
    progress: Progress | None = None
    datetime_field: str | None = None  # the layer's time column (detected when None)
    datetime_start_field: str | None = None  # or an interval's start and end columns
    datetime_end_field: str | None = None
    no_datetime: bool = False  # no time column, and ISO-8601 text stays text
    naive_timezone: str = "Asia/Shanghai"  # how date-times without an offset are read
    work_root: Path | None = None  # temporary folders (ingest.workdirs); None: $TMPDIR
    max_upload_mb: int = 2048  # ONEMAP_MAX_UPLOAD_MB: bounds what an archive may unpack to
    # Who asked (the HTTP route, the CLI, a job's publish): written with layer id, version and
    # ``unchanged`` in the publishing transaction, so a version never exists unaudited.
    audit: AuditEvent | None = None

    def __post_init__(self) -> None:
        self.time.check()

    @property
    def time(self) -> TimeOptions:
        return TimeOptions(
            self.datetime_field,
            self.datetime_start_field,
            self.datetime_end_field,
            self.no_datetime,
            self.naive_timezone,
        )


@dataclass
class IngestResult:
    layer_id: str
    version: int
    kind: str = "vector"
    features_in: int = 0
    features_out: int = 0
    skipped: bool = False
    repairs: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    detected: dict[str, Any] = field(default_factory=dict)
    rollups: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.skipped:
            return (
                f"{self.layer_id}: identical to version {self.version} already published; "
                "nothing to do"
            )
        if self.kind == "raster":
            return (
                f"{self.layer_id}: published raster version {self.version} in {self.seconds:.1f}s"
            )
        return (
            f"{self.layer_id}: published version {self.version} "
            f"({self.features_out} of {self.features_in} features) in {self.seconds:.1f}s"
        )
