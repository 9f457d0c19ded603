"""The fixed SQL of ``layers.access``, read from ``layers/access/sql/<name>.sql``."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def access_sql(name: str) -> bytes:
    return (resources.files("layers.access") / "sql" / f"{name}.sql").read_bytes()
