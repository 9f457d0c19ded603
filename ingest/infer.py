"""Infer catalog fields a department did not give: id, admin level and code."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

ADCODE_FIELD_NAMES = (
    "adcode",
    "ad_code",
    "xzqdm",
    "xzqhdm",
    "行政区划代码",
    "行政代码",
    "区划代码",
    "代码",
    "admin_code",
    "code",
)
_ID_ALLOWED = re.compile(r"[^a-z0-9]+")


def layer_id_from_name(path: Path) -> str:
    """A URL-safe id from a file name; Chinese-only names get a stable hashed id."""
    stem = path.name.split(".")[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = _ID_ALLOWED.sub("-", ascii_stem.lower()).strip("-")[:40].strip("-")
    if len(slug) < 2:
        slug = "layer-" + hashlib.sha1(stem.encode()).hexdigest()[:8]
    return slug if slug[0].isalnum() else "l" + slug


def adcode_column(columns: Iterable[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    return next((lowered[n] for n in ADCODE_FIELD_NAMES if n in lowered), None)


@dataclass
class AdminScope:
    """The common prefix of every admin code seen, read batch by batch."""

    prefix: str | None = None
    seen: int = 0

    def add(self, table: pa.RecordBatch) -> None:
        column = adcode_column(table.schema.names)
        if column is None:
            return
        distinct = pc.unique(table.column(column).drop_null()).to_pylist()
        for value in {str(v).strip()[:6] for v in distinct}:
            if len(value) == 6 and value.isdigit():
                self.seen += 1
                self.prefix = value if self.prefix is None else _common_prefix(self.prefix, value)

    def level_and_code(self) -> tuple[str, str] | None:
        """(level, adcode) the codes point to, or None if no codes were found."""
        if not self.prefix or len(self.prefix) < 2:
            return None
        code = self.prefix
        if len(code) == 6 and not code.endswith("00"):
            return "county", code
        if len(code) >= 4 and code[2:4] != "00":
            return "city", code[:4] + "00"
        return "province", code[:2] + "0000"


def _common_prefix(a: str, b: str) -> str:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return a[:length]
