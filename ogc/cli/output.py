"""How commands print records: an aligned table for people, ``--json`` for scripts."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import click
import orjson

Column = tuple[str, str]  # header, record key


def echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def echo_table(records: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
    """Columns padded to their widest cell (CJK characters count two)."""
    cells = [[header for header, _ in columns]]
    cells += [[_text(record.get(key)) for _, key in columns] for record in records]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        padded = [
            cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
        ]
        click.echo("  ".join(padded).rstrip())


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
