"""Checks of an upload's form fields and file name, before any byte is read as data.

Each bad value is a 400 naming the field (it used to reach PostgreSQL or PROJ and come
back as a 500). The rules mirror the catalog's CHECK constraints
(``layers/migrations/0001_catalog.sql``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from ingest.encoding import normalise_codepage
from layers.catalog_write import department_ids
from layers.db import connect
from layers.errors import InvalidParameter
from layers.platform import STORAGE_SRID

LAYER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")  # as layers.id's CHECK
THEME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")  # roll-ups are '<theme>-<adcode>' layer ids
ADCODE = re.compile(r"^[0-9]{6}$")
LEVELS = ("province", "city", "county")
MAX_FIELD_CHARS = 1000
MAX_NAME_BYTES = 180  # of the stored file name (file systems allow 255)
GCJ02 = ("gcj02", "gcj-02")


def check_upload_fields(fields: Mapping[str, str | None]) -> None:
    """Every given form field is well-formed; else InvalidParameter naming the first bad one."""
    for name, value in fields.items():
        if value is None:
            continue
        if "\x00" in value:
            raise InvalidParameter(f"form field '{name}' contains a NUL byte")
        if len(value) > MAX_FIELD_CHARS:
            raise InvalidParameter(f"form field '{name}' is longer than {MAX_FIELD_CHARS} chars")
    for name in ("layer", "id"):
        _match(fields, name, LAYER_ID, "1–48 lower-case letters, digits, '-' or '_'")
    _match(fields, "theme", THEME, "1–40 lower-case letters, digits, '-' or '_'")
    _match(fields, "adcode", ADCODE, "a 6-digit GB/T 2260 code, e.g. 440106")
    level = fields.get("level")
    if level and level not in LEVELS:
        raise InvalidParameter(f"level must be one of {', '.join(LEVELS)}, got {level[:40]!r}")
    _check_encoding(fields.get("encoding"))
    _check_source_crs(fields.get("source_crs"))


def _match(
    fields: Mapping[str, str | None], name: str, pattern: re.Pattern[str], what: str
) -> None:
    value = fields.get(name)
    if value and not pattern.fullmatch(value):
        raise InvalidParameter(f"{name} must be {what}; got {value[:60]!r}")


def _check_encoding(encoding: str | None) -> None:
    if not encoding:
        return
    name = normalise_codepage(encoding)
    if name is None or not codecs.lookup(name)._is_text_encoding:
        raise InvalidParameter(
            f"encoding {encoding[:40]!r} is not a text encoding Python knows; "
            "use e.g. UTF-8, GBK or GB18030"
        )


def _check_source_crs(source_crs: str | None) -> None:
    if not source_crs or source_crs.lower() in GCJ02:
        return
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError, ProjError

    try:
        Transformer.from_crs(CRS.from_user_input(source_crs), CRS.from_epsg(STORAGE_SRID))
    except (CRSError, ProjError):
        raise InvalidParameter(
            f"source_crs {source_crs[:60]!r} is not a CRS that can be transformed to CGCS2000; "
            "use e.g. EPSG:4547, a WKT, or gcj02"
        ) from None


def known_departments(database_url: str) -> list[str]:
    """The registered department ids (a new layer's department must be one of them)."""
    with connect(database_url) as conn:
        return department_ids(conn)


def safe_upload_name(filename: str | None) -> str:
    """The upload's base name, safe to store: no folders, control characters or dot names."""
    raw = (filename or "").replace("\\", "/")
    name = "".join(ch for ch in PurePosixPath(raw).name if ch.isprintable())
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.strip(" .") or "upload"
    suffix = suffix[:16]
    while len(stem.encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return f"{stem}.{suffix}" if suffix else stem
