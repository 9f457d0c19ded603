"""PostgreSQL COPY text built column-wise in Arrow: no Python work per row.

Each attribute column is cast to text, escaped and null-filled by Arrow compute; the
geometry goes as hex WKB straight from the source buffer (PostGIS fills in the column's
SRID); the columns are joined into rows by Arrow, so a batch's payload is one buffer.
Ingest itself loads with binary COPY (``ingest.copybinary``, which shares the WKB helpers
here); the text encoding is the reference the COPY tests hold the binary one to.
"""

from __future__ import annotations

import binascii

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

NULL = "\\N"
_SPECIAL = (b"\\", b"\t", b"\n", b"\r")
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
# One-part multi header (byte order, multi type, part count) for Point/LineString/Polygon,
# 2D then with the EWKB Z flag (PostGIS wants the same dimensions on the multi and its part).
MULTI_HEADERS = (
    "",
    "010400000001000000",
    "010500000001000000",
    "010600000001000000",
    "010400008001000000",
    "010500008001000000",
    "010600008001000000",
)


def text_column(column: pa.Array, kind: str) -> pa.Array:
    """One attribute column as COPY text values (``\\N`` for missing)."""
    if kind == "string":
        text = column if pa.types.is_string(column.type) else _cast_text(column)
        if _may_need_escaping(text):
            for old, new in _ESCAPES:
                text = pc.replace_substring(text, old, new)
    else:
        text = _cast_text(column)
    if kind == "number":  # Arrow writes NaN as "nan"; say it the way PostgreSQL prints it
        text = pc.if_else(pc.is_nan(column), pa.scalar("NaN"), text)
    return pc.fill_null(text, NULL)


def _may_need_escaping(text: pa.Array) -> bool:
    """Whether any value holds a backslash, tab or line break (a byte search, no regex)."""
    data = text.buffers()[2]
    if data is None:
        return False
    raw = data.to_pybytes()
    return any(special in raw for special in _SPECIAL)


def _cast_text(column: pa.Array) -> pa.Array:
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


def wkb_hex(wkb: NDArray[np.object_] | pa.Array) -> pa.Array:
    """Hex WKB for COPY, encoded from one contiguous buffer in a single call."""
    data, offsets = contiguous_wkb(wkb)
    hexed = np.frombuffer(binascii.hexlify(data), dtype=np.uint8)
    return pa.StringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer((offsets * 2).astype(np.int32)), pa.py_buffer(hexed)
    )


def geometry_column(
    hexed: pa.Array, promote_ids: NDArray[np.int32], has_z: NDArray[np.bool_] | None = None
) -> pa.Array:
    """The last COPY column: hex WKB, single parts as one-part multis, and the newline.

    ``promote_ids`` holds the shapely type id of each geometry to promote (0, 1, 3)
    and -1 for the others.
    """
    index = multi_header_index(promote_ids, has_z)
    if len(index) and (index == index[0]).all():  # the usual case: one header for all
        headers: pa.Array | pa.Scalar = pa.scalar(MULTI_HEADERS[int(index[0])])
    else:
        headers = pc.take(pa.array(MULTI_HEADERS), pa.array(index))
    return pc.binary_join_element_wise(headers, hexed, pa.scalar("\n"), "")


def multi_header_index(
    type_ids: NDArray[np.int32], has_z: NDArray[np.bool_] | None
) -> NDArray[np.intp]:
    """Which of ``MULTI_HEADERS`` goes before each geometry (0: none)."""
    index = np.select([type_ids == 0, type_ids == 1, type_ids == 3], [1, 2, 3], 0)
    if has_z is not None:
        index = np.where(has_z & (index > 0), index + 3, index)
    return index


def contiguous_wkb(
    wkb: NDArray[np.object_] | pa.Array,
) -> tuple[bytes | pa.Buffer, NDArray[np.int64]]:
    """The WKB bytes back to back and their offsets, zero-copy for Arrow input."""
    if isinstance(wkb, pa.Array) and wkb.null_count == 0:
        width = np.int64 if pa.types.is_large_binary(wkb.type) else np.int32
        offsets = np.frombuffer(wkb.buffers()[1], dtype=width)
        offsets = offsets[wkb.offset : wkb.offset + len(wkb) + 1].astype(np.int64)
        data = wkb.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        return data, offsets - offsets[0]
    values = wkb.to_numpy(zero_copy_only=False) if isinstance(wkb, pa.Array) else wkb
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    return b"".join(values), np.concatenate([[0], np.cumsum(lengths)])


def payload(columns: list[pa.Array]) -> memoryview:
    """Tab-separated rows as one buffer; the last column (``geometry_column``) ends each row."""
    if not columns or len(columns[0]) == 0:
        return memoryview(b"")
    rows = pc.binary_join_element_wise(*columns, "\t") if len(columns) > 1 else columns[0]
    rows = pa.concat_arrays([rows])  # drop any slice offset
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[: len(rows) + 1]
    data = rows.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    return memoryview(data)
