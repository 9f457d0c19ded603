"""Turn a source's attribute columns into SQL-safe, typed columns.

The names that arrive (often Chinese, mixed case, with spaces) are normalised to
lower-case ASCII identifiers; the original names are kept in the catalog's field
schema as ``source_name`` and ``title`` so nothing a department wrote is lost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pyarrow as pa

from layers.catalog import FieldInfo
from layers.errors import IngestError

MAX_FIELDS = 1500  # attribute columns of a version table (PostgreSQL allows 1600 in all)
RESERVED = frozenset({"fid", "geom", "ctid", "oid", "xmin", "xmax", "cmin", "cmax", "tableoid"})
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


def field_type(arrow_type: pa.DataType) -> str:
    """The catalog type of an Arrow column (anything exotic is kept as text)."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    return "string"


def describe_fields(schema: pa.Schema) -> list[FieldInfo]:
    """The field schema of a batch's attribute columns (geometry already removed)."""
    columns = list(schema.names)
    if len(columns) > MAX_FIELDS:
        raise IngestError(
            f"the source has {len(columns)} attributes; at most {MAX_FIELDS} fit in a table "
            "(PostgreSQL's limit is 1600 columns); drop the fields that are not needed"
        )
    names = unique_names(normalise_name(c, i + 1) for i, c in enumerate(columns))
    return [
        FieldInfo(name=n, type=field_type(schema.field(c).type), source_name=c, title=c)
        for n, c in zip(names, columns, strict=True)
    ]
