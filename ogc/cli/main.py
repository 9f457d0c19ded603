"""The ``onemap`` command line."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, ClassVar

import click

from layers.errors import OneMapError
from layers.settings import ServiceSettings


class LazyGroup(click.Group):
    """A group whose heavy subcommands are imported only when they run.

    `onemap ingest` should not pay for importing the tile renderer, nor `onemap --help`
    for either.
    """

    LAZY: ClassVar[dict[str, str]] = {
        "audit": "ogc.cli.audit:audit_command",
        "ingest": "ogc.cli.ingest:ingest_command",
        "keys": "ogc.cli.keys:keys_cli",
        "tiles": "ogc.cli.tiles:tiles_cli",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            module_name, attribute = self.LAZY[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)


def _settings() -> ServiceSettings:
    return ServiceSettings()


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def cli(verbose: bool) -> None:
    """OneMap: the one electronic map of the Guangdong Geographic Information Public Platform."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
@click.option("--host", help="Interface to bind (ONEMAP_HOST).")
@click.option("--port", type=int, help="TCP port (ONEMAP_PORT).")
@click.option("--workers", type=int, help="Worker processes (ONEMAP_WORKERS).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Start the database if embedded, migrate, load sample data, and serve HTTP."""
    from ogc.server.serve import serve as run

    overrides: dict[str, Any] = {"host": host, "port": port, "workers": workers}
    settings = _settings().model_copy(update={k: v for k, v in overrides.items() if v})
    try:
        run(settings)
    except KeyboardInterrupt:  # uvicorn re-raises SIGINT after a clean shutdown
        click.echo("OneMap stopped.")


@cli.group()
def db() -> None:
    """Database administration."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations."""
    from layers.migrate import migrate
    from ogc.cli.database import database

    with database(_settings()) as url:
        applied = migrate(url)
    click.echo("applied: " + ", ".join(applied) if applied else "schema is up to date")


@cli.group()
def jobs() -> None:
    """Jobs of OGC API – Processes."""


@jobs.command("purge")
@click.option(
    "--older-than",
    help="Purge jobs finished longer ago than this (e.g. 7d, 12h); default ONEMAP_JOB_RETENTION.",
)
def jobs_purge(older_than: str | None) -> None:
    """Delete finished jobs and their results past the retention (what the server does every
    ten minutes); layers published from them stay."""
    import asyncio

    import psycopg

    from layers.durations import parse_retention
    from ogc.cli.database import database
    from ogc.processes.jobs import purge_jobs

    settings = _settings()
    try:
        retention = parse_retention(older_than) if older_than else settings.job_retention
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    if not isinstance(retention, int | float):
        raise click.UsageError("the retention is 'forever': nothing to purge (see --older-than)")

    async def purge(url: str) -> int:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await purge_jobs(conn, float(retention))

    with database(settings) as url:
        purged = asyncio.run(purge(url))
    click.echo(f"purged {purged} jobs finished over {retention:.0f} s ago")


@cli.group()
def layers() -> None:
    """The layer catalog."""


@layers.command("rollback")
@click.argument("layer_id")
@click.option("--to", "to_version", type=int, help="Version to restore (default: the previous).")
@click.option("--as", "as_name", help="Admin name recorded in the audit log (default: $USER).")
def layers_rollback(layer_id: str, to_version: int | None, as_name: str | None) -> None:
    """Make an earlier version of LAYER_ID current again (every server sees it at once)."""
    from layers.access.audit import AuditEvent
    from layers.db import connect
    from layers.layer_admin import rollback_layer
    from ogc.cli.actor import audited_command, local_admin
    from ogc.cli.database import database

    actor = local_admin(as_name)
    with database(_settings()) as url:
        failures = audited_command(url, actor, "layer.rollback", layer_id, refusals_only=True)
        with failures as note, connect(url) as conn:  # done: audited with the rollback
            event = AuditEvent("layer.rollback", actor, detail=note.detail)
            done = rollback_layer(conn, layer_id, to_version, event)
    click.echo(f"{layer_id}: version {done.version} is current again")
    for rollup in done.rollups:
        click.echo(f"  refreshed roll-up layer '{rollup}'")


@layers.command("delete")
@click.argument("layer_id")
@click.option("--yes", is_flag=True, help="Do it: every version, table and raster file goes.")
@click.option("--as", "as_name", help="Admin name recorded in the audit log (default: $USER).")
def layers_delete(layer_id: str, yes: bool, as_name: str | None) -> None:
    """Delete LAYER_ID with every version (audited; every server drops it at once)."""
    from layers.access.audit import AuditEvent
    from layers.db import connect
    from layers.layer_admin import delete_layer
    from ogc.cli.actor import audited_command, local_admin
    from ogc.cli.database import database

    if not yes:
        raise click.UsageError(f"deleting '{layer_id}' removes every version; add --yes")
    actor = local_admin(as_name)
    settings = _settings()
    with database(settings) as url:
        failures = audited_command(url, actor, "layer.delete", layer_id, refusals_only=True)
        with failures as note, connect(url) as conn:
            event = AuditEvent("layer.delete", actor, detail=note.detail)
            done = delete_layer(conn, layer_id, event, settings.raster_dir.resolve())
    click.echo(f"{layer_id}: deleted with {done.versions} versions")
    for rollup in done.rollups.refreshed:
        click.echo(f"  refreshed roll-up layer '{rollup}' without it")
    for rollup in done.rollups.emptied:
        click.echo(f"  removed roll-up layer '{rollup}' (it was its last county layer)")


@layers.command("access")
@click.argument("layer_id")
@click.option("--level", type=click.Choice(["public", "internal", "restricted"]))
@click.option("--department", help="Owning department id (registered).")
@click.option("--internal-fields", help="Fields hidden below internal: a,b ('' clears).")
@click.option("--as", "as_name", help="Admin name recorded in the audit log (default: $USER).")
def layers_access(
    layer_id: str,
    level: str | None,
    department: str | None,
    internal_fields: str | None,
    as_name: str | None,
) -> None:
    """Change who may see LAYER_ID: access level, owner, internal fields (audited)."""
    from layers.access.layer_access import AccessChange, change_layer_access
    from layers.catalog import load_catalog_async, no_such_layer
    from ogc.cli.actor import local_admin
    from ogc.cli.keys import run_on_database

    fields = None
    if internal_fields is not None:
        fields = tuple(name.strip() for name in internal_fields.split(",") if name.strip())
    change = AccessChange(level, department, fields)
    actor = local_admin(as_name)

    async def work(conn: Any) -> dict[str, Any]:
        layer = (await load_catalog_async(conn)).layers.get(layer_id)
        if layer is None:
            raise no_such_layer(layer_id)
        return await change_layer_access(conn, layer, change, actor)

    after = run_on_database(work)
    shown = ", ".join(after["internalFields"]) or "none"
    click.echo(
        f"{layer_id}: {after['accessLevel']}, department {after['department'] or '-'}, "
        f"internal fields: {shown}"
    )


@layers.command("history")
@click.argument("layer_id")
def layers_history(layer_id: str) -> None:
    """Versions and ingest runs of LAYER_ID (lineage)."""
    from layers.db import connect
    from layers.versions import history
    from ogc.cli.database import database

    with database(_settings()) as url, connect(url) as conn:
        for line in history(conn, layer_id):
            click.echo(line)


@layers.command("list")
def layers_list() -> None:
    """List published layers with their current version."""
    from layers.catalog import load_catalog
    from layers.db import connect
    from ogc.cli.database import database

    with database(_settings()) as url, connect(url) as conn:
        catalog = load_catalog(conn)
    for layer in catalog:
        click.echo(
            f"{layer.id:<24} v{layer.version:<3} {layer.level:<8} {layer.adcode} "
            f"{layer.feature_count:>9} {layer.geometry_type or '':<16} {layer.title_zh}"
        )


@cli.group()
def sample() -> None:
    """The bundled Guangdong sample data."""


@sample.command("load")
@click.option("--force", is_flag=True, help="Publish again even if loaded before.")
def sample_load(force: bool) -> None:
    """Publish the bundled sample layers (done automatically on first serve)."""
    from ingest.sample import load_sample_data
    from layers.migrate import migrate
    from ogc.cli.database import database

    settings = _settings()
    with database(settings) as url:
        migrate(url)
        for result in load_sample_data(url, force=force, raster_dir=settings.raster_dir):
            click.echo(result.summary())


def main() -> None:
    try:
        cli(standalone_mode=True)
    except OneMapError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
