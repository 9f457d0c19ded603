"""Feature ids for a load, taken from ``onemap.feature_id_seq`` a block at a time.

Ids stay unique across every layer table (roll-up views union them), yet the server
does not call ``nextval`` once per row: the block for the whole file is reserved
before the load, on an autocommit connection (``onemap.reserve_feature_ids``). A file
holding more features than it declared gets further blocks from a second connection,
as the load's own connection is busy with the COPY by then.
"""

from __future__ import annotations

import numpy as np
import psycopg
from numpy.typing import NDArray

from layers.db import connect

_MORE = 65_536  # ids asked for at a time once the declared count is used up


class FeatureIds:
    def __init__(self, database_url: str, first: int = 0, count: int = 0) -> None:
        self.database_url = database_url
        self._next, self._end = first, first + count

    @classmethod
    def reserve(cls, conn: psycopg.Connection, database_url: str, expected: int) -> FeatureIds:
        """A block for ``expected`` features (none when the count is unknown: -1)."""
        if expected <= 0:
            return cls(database_url)
        return cls(database_url, _reserve(conn, expected), expected)

    def take(self, n: int) -> NDArray[np.int64]:
        """The next ``n`` ids, in order."""
        if self._end - self._next < n:
            with connect(self.database_url, autocommit=True) as conn:
                self._next = _reserve(conn, max(n, _MORE))
                self._end = self._next + max(n, _MORE)
        ids = np.arange(self._next, self._next + n, dtype=np.int64)
        self._next += n
        return ids


def _reserve(conn: psycopg.Connection, n: int) -> int:
    row = conn.execute("SELECT onemap.reserve_feature_ids(%s)", (n,)).fetchone()
    assert row is not None
    return int(row[0])
