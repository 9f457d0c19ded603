"""``onemap keys create|list|revoke|usage``: API keys, managed by a named local admin.

The command line acts as ``Caller(kind="local", subject=$USER or --as, roles={"admin"})``
and every key change it makes is in the audit log under that name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import click

from layers.access.days import shanghai_day, utc_now
from layers.access.keys import (
    KEY_TYPES,
    ROLES,
    SERVICES,
    ApiKey,
    KeySpec,
    Service,
    create_key,
    get_key,
    key_usage,
    list_keys,
    parse_key_id,
    revoke_key,
)
from layers.db import connect_async
from layers.settings import DatabaseSettings
from ogc.cli.actor import local_admin
from ogc.cli.output import echo_json, echo_table
from ogc.cli.when import parse_day, parse_when

T = TypeVar("T")
KEY_COLUMNS = [
    ("ID", "id"),
    ("NAME", "name"),
    ("DEPARTMENT", "department"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("ROLES", "roles"),
    ("AREAS", "areas"),
    ("QUOTAS/DAY", "quota_text"),
    ("EXPIRES", "expiresAt"),
    ("CREATED BY", "createdBy"),
]


def run_on_database(work: Callable[[Any], Awaitable[T]]) -> T:
    """Migrate the configured (or embedded) database, then run ``work(connection)``."""
    from layers.migrate import migrate
    from ogc.cli.database import database

    async def run(url: str) -> T:
        async with await connect_async(url, autocommit=True) as conn:
            return await work(conn)

    with database(DatabaseSettings()) as url:
        migrate(url)
        return asyncio.run(run(url))


def _quota_text(quotas: dict[str, int | None]) -> str:
    return " ".join(f"{s}={'∞' if q is None else q}" for s, q in quotas.items())


def _for_table(key: dict[str, Any]) -> dict[str, Any]:
    return key | {"quota_text": _quota_text(key["quotas"])}


def _parse_quotas(values: tuple[str, ...]) -> dict[str, int | None]:
    quotas: dict[str, int | None] = {}
    for value in values:
        service, _, number = value.partition("=")
        if service not in SERVICES or not number.isdigit():
            raise click.BadParameter(
                f"{value[:40]!r}: give SERVICE=N per day, SERVICE one of {', '.join(SERVICES)}",
                param_hint="--quota",
            )
        quotas[service] = int(number)
    return quotas


@click.group("keys")
def keys_cli() -> None:
    """API keys (tk=) for applications and machine clients."""


@keys_cli.command("create")
@click.option("--department", required=True, help="Registered department the key belongs to.")
@click.option("--name", required=True, help="What the key is for (shown in listings).")
@click.option(
    "--type", "key_type", type=click.Choice(KEY_TYPES), default="server", show_default=True
)
@click.option("--referer", multiple=True, help="Browser keys: allowed host, e.g. '*.gd.gov.cn'.")
@click.option("--ip", multiple=True, help="Server keys: allowed address or CIDR, e.g. 10.1.0.0/16.")
@click.option("--role", multiple=True, type=click.Choice(ROLES), help="Role granted (repeat).")
@click.option("--area", multiple=True, help="Limit to an adcode prefix, e.g. 440106 (repeat).")
@click.option("--quota", multiple=True, help="Daily quota, e.g. tiles=100000 (0 = not allowed).")
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    help="Requests per rate window (ONEMAP_RATE_WINDOW_S); default ONEMAP_RATE_LIMIT_KEY.",
)
@click.option("--expires", help="Expiry: 2026-12-31 (end of that day, CST), a date-time, or 90d.")
@click.option("--as", "as_name", help="Admin name recorded in the audit log (default: $USER).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_command(
    department: str,
    name: str,
    key_type: str,
    referer: tuple[str, ...],
    ip: tuple[str, ...],
    role: tuple[str, ...],
    area: tuple[str, ...],
    quota: tuple[str, ...],
    rate_limit: int | None,
    expires: str | None,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Create a key; its secret is printed this once and cannot be shown again."""
    spec = KeySpec(
        department_id=department,
        name=name,
        type=key_type,
        referers=referer,
        ip_ranges=ip,
        roles=role,
        areas=area,
        quotas=_parse_quotas(quota),
        rate_limit=rate_limit,
        expires_at=parse_when(expires, "--expires", end_of_day=True) if expires else None,
    )
    actor = local_admin(as_name)
    key, secret = run_on_database(lambda conn: create_key(conn, spec, actor))
    if as_json:
        echo_json({"key": key.to_json(), "secret": secret})
        return
    echo_table([_for_table(key.to_json())], KEY_COLUMNS)
    click.echo(f"\nsecret: {secret}")
    click.echo("Store it now: only its hash is kept. Clients send it as the tk= query parameter.")


@keys_cli.command("list")
@click.option("--department", help="Only this department's keys.")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(department: str | None, include_revoked: bool, as_json: bool) -> None:
    """List keys (never their secrets)."""
    keys = run_on_database(lambda conn: list_keys(conn, department, include_revoked))
    records = [key.to_json() for key in keys]
    if as_json:
        echo_json(records)
    elif records:
        echo_table([_for_table(r) for r in records], KEY_COLUMNS)
    else:
        click.echo("no keys" + (f" of department {department}" if department else ""))


@keys_cli.command("revoke")
@click.argument("key_id")
@click.option("--as", "as_name", help="Admin name recorded in the audit log (default: $USER).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def revoke_command(key_id: str, as_name: str | None, as_json: bool) -> None:
    """Revoke KEY_ID: every running server refuses it at once."""
    parsed = parse_key_id(key_id)
    key = run_on_database(lambda conn: revoke_key(conn, parsed, local_admin(as_name)))
    if as_json:
        echo_json(key.to_json())
    else:
        click.echo(f"{key.id} ({key.name}) revoked at {key.revoked_at} by {key.revoked_by}")


@keys_cli.command("usage")
@click.argument("key_id")
@click.option("--since", help="First day (default: 6 days ago, China Standard Time).")
@click.option("--until", help="Last day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def usage_command(key_id: str, since: str | None, until: str | None, as_json: bool) -> None:
    """Requests counted per day and service for KEY_ID (up to a second behind the servers)."""
    parsed = parse_key_id(key_id)
    today = shanghai_day(utc_now())
    first = parse_day(since, "--since") if since else today - timedelta(days=6)
    last = parse_day(until, "--until") if until else today
    if first > last:
        raise click.BadParameter("--since is after --until", param_hint="--since")

    async def work(conn: Any) -> tuple[ApiKey, list[tuple[date, Service, int]]]:
        return await get_key(conn, parsed), await key_usage(conn, parsed, first, last)

    key, rows = run_on_database(work)
    records = [
        {"day": day.isoformat(), "service": service, "count": count, "quota": key.quotas[service]}
        for day, service, count in rows
    ]
    if as_json:
        echo_json({"key": key.to_json(), "usage": records})
    elif records:
        echo_table(
            records,
            [("DAY", "day"), ("SERVICE", "service"), ("COUNT", "count"), ("QUOTA", "quota")],
        )
    else:
        click.echo(f"no requests counted for {key.id} from {first} to {last}")
