"""Who the command line is: a named local admin, recorded as such in the audit log.

Every write command (``onemap ingest``, ``layers rollback``, ``layers access``, key changes)
acts as ``Caller(kind="local", subject=$USER or --as NAME, roles={"admin"})``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from layers.access.audit import AuditEvent, Outcome, record_sync
from layers.access.caller import Caller
from layers.errors import Forbidden, NotFound, OneMapError

AS_OPTION = click.option(
    "--as", "as_name", help="Admin name recorded in the audit log (default: $USER)."
)


def local_admin(as_name: str | None) -> Caller:
    """The person at the command line, as the audit log names them."""
    name = as_name or os.environ.get("USER") or getpass.getuser()
    return Caller(kind="local", subject=name, roles=frozenset({"admin"}))


@dataclass
class CliNote:
    """What a command's write did, as it learns it."""

    layer_id: str | None = None
    version: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@contextmanager
def audited_command(
    database_url: str,
    actor: Caller,
    operation: str,
    layer_id: str | None = None,
    *,
    refusals_only: bool = False,
) -> Iterator[CliNote]:
    """Record ``operation`` by ``actor`` when the block ends: ok, or the error it failed
    with (which then propagates). The row is written on its own connection; with
    ``refusals_only`` only a failure is (the block records its success in its transaction)."""
    note = CliNote(layer_id=layer_id, detail={"via": "cli"})
    outcome: Outcome = "ok"
    try:
        yield note
    except Exception as exc:
        outcome = "denied" if isinstance(exc, Forbidden | NotFound) else "failed"
        message = exc.message if isinstance(exc, OneMapError) else type(exc).__name__
        note.detail["reason"] = message[:500]
        raise
    finally:
        if outcome != "ok" or not refusals_only:
            event = AuditEvent(
                operation, actor, outcome, note.layer_id, note.version, detail=note.detail
            )
            record_sync(database_url, event)
