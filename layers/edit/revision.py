"""A feature's revision and the validators derived from it (ADR 0013, decision 4).

The revision is the layer version of the feature's last edit, or the version that created
its table. Its time is kept in whole seconds and grows by at least a second per edit, so an
HTTP date (one-second resolution) always tells two revisions apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import psycopg

from layers.edit.errors import PreconditionFailed, PreconditionRequired
from layers.errors import InvalidParameter

REVISION_SQL = b"""
SELECT COALESCE(e.version, b.version), COALESCE(e.modified_at, b.created_at)
FROM (SELECT min(version) AS version, min(created_at) AS created_at
      FROM onemap.layer_versions WHERE layer_id = %(layer)s AND table_name = %(table)s) AS b
LEFT JOIN LATERAL (
    SELECT version, modified_at FROM onemap.feature_edits
    WHERE table_name = %(table)s AND fid = %(fid)s ORDER BY version DESC LIMIT 1
) AS e ON true
"""


@dataclass(frozen=True)
class Revision:
    layer_id: str
    fid: int
    version: int
    modified_at: datetime

    def etag(self, variant: str = "") -> str:
        """Strong: one revision in one representation always has the same bytes."""
        suffix = f".{variant}" if variant else ""
        return f'"{self.layer_id}.{self.fid}.{self.version}{suffix}"'

    @property
    def last_modified(self) -> str:
        return format_datetime(whole_seconds(self.modified_at), usegmt=True)

    def headers(self, variant: str = "") -> dict[str, str]:
        return {"ETag": self.etag(variant), "Last-Modified": self.last_modified}


def whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


async def read_revision(
    conn: psycopg.AsyncConnection[Any], layer_id: str, table_name: str, fid: int
) -> Revision:
    """The revision of feature ``fid`` (whether it exists is the caller's question)."""
    params = {"layer": layer_id, "table": table_name, "fid": fid}
    row = await (await conn.execute(REVISION_SQL, params)).fetchone()
    if row is None or row[0] is None:
        raise InvalidParameter(f"layer '{layer_id}' has no version with table {table_name}")
    return Revision(layer_id, fid, int(row[0]), row[1])


@dataclass(frozen=True)
class Preconditions:
    """The request's conditional headers, as sent (None when absent)."""

    if_match: str | None = None
    if_unmodified_since: str | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_unmodified_since is not None


def check(current: Revision, given: Preconditions) -> None:
    """RFC 9110 §13.2.2 order: If-Match, else If-Unmodified-Since; neither → 428."""
    if not given.given:
        raise PreconditionRequired(
            f"feature {current.fid} of '{current.layer_id}' may only be changed conditionally: "
            f"send If-Match: {current.etag()} (from a GET) or If-Unmodified-Since"
        )
    if given.if_match is not None:
        if not _etag_matches(given.if_match, current):
            raise _failed(current, "If-Match")
        return
    assert given.if_unmodified_since is not None
    since = _http_date(given.if_unmodified_since)
    if whole_seconds(current.modified_at) > since:
        raise _failed(current, "If-Unmodified-Since")


def _etag_matches(header: str, current: Revision) -> bool:
    """Strong comparison: a weak tag never matches; any representation of the revision does."""
    base = current.etag()
    for tag in (part.strip() for part in header.split(",")):
        if tag == "*" or tag == base or tag.startswith(base[:-1] + "."):
            return True
    return False


def _http_date(value: str) -> datetime:
    """An HTTP-date. RFC 9110 ignores an invalid one, which would make the edit
    unconditional: it is refused instead, so the sender learns its date is unreadable."""
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"If-Unmodified-Since {value[:60]!r} is not an HTTP-date; send the feature's "
            "Last-Modified value, e.g. Wed, 02 Dec 2026 07:30:00 GMT"
        ) from None


def _failed(current: Revision, header: str) -> PreconditionFailed:
    return PreconditionFailed(
        f"feature {current.fid} of '{current.layer_id}' changed since the copy your {header} "
        f"names: it is now {current.etag()} (modified {current.last_modified}); "
        "GET it again and reapply your change",
        current.etag(),
        current.last_modified,
    )
