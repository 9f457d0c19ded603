"""``onemap audit``: the audit log for admins (writes, key changes, denials), newest first."""

from __future__ import annotations

from typing import Any

import click
import orjson

from layers.access.audit import OUTCOMES, AuditQuery, query_events
from ogc.cli.keys import run_on_database
from ogc.cli.output import echo_json, echo_table
from ogc.cli.when import parse_when

COLUMNS = [
    ("AT", "at"),
    ("ACTOR", "actor"),
    ("OPERATION", "operation"),
    ("LAYER", "layer_id"),
    ("OUTCOME", "outcome"),
    ("CLIENT", "client_addr"),
    ("DETAIL", "detail_text"),
]
DETAIL_CHARS = 80


def _for_table(event: dict[str, Any]) -> dict[str, Any]:
    actor = f"{event['actor_kind']}:{event['actor_subject'] or '-'}"
    detail = orjson.dumps(event["detail"]).decode()
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 1] + "…"
    return event | {"actor": actor, "detail_text": detail}


@click.command("audit")
@click.option("--since", help="From: 2025-06-10 (CST), a date-time, …")
@click.option("--until", help="Up to (a date includes that whole day).")
@click.option("--actor", help="User id, key id or local admin name.")
@click.option("--layer", help="Layer id.")
@click.option("--operation", help="e.g. key.create, key.revoke.")
@click.option("--outcome", type=click.Choice(OUTCOMES))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_command(
    since: str | None,
    until: str | None,
    actor: str | None,
    layer: str | None,
    operation: str | None,
    outcome: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Show audit events, newest first."""
    query = AuditQuery(
        since=parse_when(since, "--since") if since else None,
        until=parse_when(until, "--until", end_of_day=True) if until else None,
        actor=actor,
        layer=layer,
        operation=operation,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )
    query.params()  # a bad combination is refused before the database is started
    events = run_on_database(lambda conn: query_events(conn, query))
    if as_json:
        echo_json(events)
    elif events:
        echo_table([_for_table(e) for e in events], COLUMNS)
    else:
        click.echo("no audit events match")
