"""Turn a source's attribute columns into SQL-safe, typed columns.

The names that arrive (often Chinese, mixed case, with spaces) are normalised to
lower-case ASCII identifiers; the original names are kept in the catalog's field
schema as ``source_name`` and ``title`` so nothing a department wrote is lost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd

from layers.catalog import FieldInfo

RESERVED = frozenset({"fid", "geom", "ctid", "oid", "xmin", "xmax", "cmin", "cmax", "tableoid"})
SQL_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
}
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]+")


def normalise_name(name: str, position: int) -> str:
    """A lower-case ASCII identifier, or ``field_<n>`` when nothing ASCII is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _NOT_IDENTIFIER.sub("_", ascii_name.lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"field_{position}" if not cleaned else f"f_{cleaned}"
    if cleaned in RESERVED:
        cleaned = f"{cleaned}_src"
    return cleaned[:60]


def unique_names(names: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count + 1}")
    return result


def field_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    if dtype == np.dtype("O") and _all_dates(series):
        return "date"
    return "string"


def _all_dates(series: pd.Series) -> bool:
    import datetime as dt

    values = series.dropna()
    return len(values) > 0 and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values[:100]
    )


def describe_fields(frame: pd.DataFrame, titles: dict[str, str] | None = None) -> list[FieldInfo]:
    """The field schema of a frame's attribute columns (geometry excluded)."""
    titles = titles or {}
    columns = [c for c in frame.columns if c != "geometry"]
    names = unique_names(normalise_name(c, i + 1) for i, c in enumerate(columns))
    return [
        FieldInfo(name=n, type=field_type(frame[c]), source_name=c, title=titles.get(c, c))
        for n, c in zip(names, columns, strict=True)
    ]
