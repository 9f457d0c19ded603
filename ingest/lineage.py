"""Lineage: every ingest run is recorded, whatever its outcome."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ingest.options import IngestResult
from layers.db import connect
from layers.errors import OneMapError

log = logging.getLogger("onemap.lineage")
_INSERT_RUN = resources.files("ingest") / "sql" / "insert_run.sql"


@dataclass
class RunRecord:
    layer_id: str
    source_name: str
    source_size: int
    source_sha256: str
    fingerprint: str
    who: str
    started_at: datetime
    status: str = "failed"
    version: int | None = None
    detected: dict[str, Any] = field(default_factory=dict)
    features_in: int | None = None
    features_out: int | None = None
    repairs: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0
    clock: float = field(default_factory=time.monotonic, repr=False)

    def stop_clock(self) -> float:
        self.duration_s = time.monotonic() - self.clock
        return self.duration_s

    def absorb(self, result: IngestResult) -> None:
        self.status = "unchanged" if result.skipped else "published"
        self.version = result.version
        self.detected = result.detected
        self.features_in, self.features_out = result.features_in, result.features_out
        self.repairs, self.warnings = result.repairs, result.warnings

    def as_lineage(self) -> dict[str, Any]:
        """The JSON kept with the published version."""
        return {
            "source": self.source_name,
            "size": self.source_size,
            "sha256": self.source_sha256,
            **self.detected,
            "features_in": self.features_in,
            "features_out": self.features_out,
            "repairs": self.repairs,
            "warnings": self.warnings,
            "who": self.who,
            "at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
        }

    def params(self) -> dict[str, Any]:
        values = dict(self.__dict__)
        values.pop("clock")
        values.pop("fingerprint")
        values["detected"] = Jsonb(self.detected)
        values["repairs"] = Jsonb(self.repairs)
        return values


def record_run(conn: psycopg.Connection, database_url: str, record: RunRecord) -> None:
    """Insert the run in its own transaction (so failures are kept too).

    ``conn`` is the run's autocommit connection; if the failure broke it, a new one.
    """
    try:
        if conn.closed or conn.broken:
            with connect(database_url, autocommit=True) as fresh:
                fresh.execute(_INSERT_RUN.read_bytes(), record.params())
        else:
            conn.execute(_INSERT_RUN.read_bytes(), record.params())
    except (psycopg.Error, OneMapError) as exc:  # lineage must never hide the real outcome
        log.warning("could not record the ingest run of %s: %s", record.source_name, exc)
