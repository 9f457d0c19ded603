"""``onemap ingest`` and the layer-version commands (rollback, history)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import RLock
from typing import TYPE_CHECKING, Any, TextIO

import click

from ingest.digest import hash_in_background
from ingest.download import local_copy
from layers.access.audit import AuditEvent
from layers.migrate import migrate
from layers.settings import IngestSettings
from ogc.cli.actor import AS_OPTION, audited_command, local_admin
from ogc.cli.lean_imports import exit_now, fresh_process, pandas_hidden

if TYPE_CHECKING:
    from ingest.pipeline import IngestOptions, IngestResult
    from layers.catalog_write import LayerMeta

LEVELS = click.Choice(["province", "city", "county"])


@click.command("ingest")
@click.argument("source")
@click.option("--layer", "layer_id", help="Publish a new version of this existing layer.")
@click.option("--id", "new_id", help="Id of a new layer (default: from the file name).")
@click.option("--title", help="Chinese title (default: the file name).")
@click.option("--title-en", help="English title.")
@click.option("--description", help="Description (Chinese).")
@click.option("--level", type=LEVELS, help="Administrative level (default: from admin codes).")
@click.option("--adcode", help="6-digit GB/T 2260 code (default: from the data's codes).")
@click.option("--department", help="Owning department id.")
@click.option("--theme", help="Theme shared by county layers, rolled up to city and province.")
@click.option("--access-level", type=click.Choice(["public", "internal", "restricted"]))
@click.option("--license", "license_", help="Licence of the data.")
@click.option("--attribution", help="Attribution text.")
@click.option("--source-layer", help="Layer of a GeoPackage/KML/FileGDB, or dataset in a zip.")
@click.option("--encoding", help="Force the attribute encoding (e.g. GBK, UTF-8).")
@click.option("--source-crs", help="Source CRS, e.g. EPSG:4547, or 'gcj02' for web-map data.")
@click.option("--keep-z", is_flag=True, help="Keep Z values (default: drop them).")
@click.option(
    "--single-parts",
    is_flag=True,
    help="Store Polygon/LineString, not multi, when no feature has several parts.",
)
@click.option("--datetime-field", help="Column that datetime= filters on (default: detected).")
@click.option("--datetime-start-field", help="Start column of each feature's time interval.")
@click.option("--datetime-end-field", help="End column of each feature's time interval.")
@click.option("--no-datetime", is_flag=True, help="No time column; ISO-8601 text stays text.")
@click.option(
    "--naive-timezone", help="Time zone of date-times without an offset (default: Asia/Shanghai)."
)
@AS_OPTION
def ingest_command(source: str, layer_id: str | None, new_id: str | None, **fields: Any) -> None:
    """Publish SOURCE (a file, zip or http(s) URL) as a new layer or a new version.

    Acts as a local admin (audited under $USER or --as): any registered department."""
    one_shot = fresh_process()
    if one_shot:  # hashed while the data stack is imported
        hash_in_background(Path(source))
    settings = IngestSettings()
    with pandas_hidden():  # the data stack is imported here, once the arguments are good
        import ingest.pipeline
        import ingest.request  # noqa: F401
        from ogc.cli.database import database

    actor = local_admin(fields["as_name"])
    with local_copy(source, settings) as path, database(settings) as url:
        migrate(url)
        # success is audited in the ingest's transaction (IngestOptions.audit), a failure here
        failures = audited_command(
            url, actor, "layer.ingest", layer_id or new_id, refusals_only=True
        )
        with failures as note:
            note.detail |= {"file": path.name, "new_layer": layer_id is None}
            audit = AuditEvent("layer.ingest", actor, detail=note.detail)
            result = _ingest(url, path, layer_id, new_id, fields, settings, audit)
    _report(result)
    if one_shot:
        exit_now()


def _ingest(
    url: str,
    path: Path,
    layer_id: str | None,
    new_id: str | None,
    fields: dict[str, Any],
    settings: IngestSettings,
    audit: AuditEvent,
) -> IngestResult:
    from ingest.pipeline import ingest_file
    from ingest.request import build_meta, build_options
    from layers.catalog_write import department_ids, require_registered
    from layers.db import connect

    with connect(url) as conn:  # the local admin may name any registered department
        require_registered(fields["department"], department_ids(conn))
    overrides = fields | {
        "title_zh": fields["title"],
        "description_zh": fields["description"],
        "department_id": fields["department"],
        "license": fields["license_"],
    }
    meta = build_meta(url, path, layer_id, new_id, overrides)
    options = build_options(
        settings,
        expect_new=layer_id is None,
        who=audit.actor.subject,
        audit=audit,
        source_layer=fields["source_layer"],
        encoding=fields["encoding"],
        source_crs=fields["source_crs"],
        keep_z=fields["keep_z"],
        single_parts=fields["single_parts"],
        **time_options(fields),
    )
    click.echo(f"{'new version of' if layer_id else 'new layer'} '{meta.id}' from {path.name}")
    return _with_progress(ingest_file, url, path, meta, options)


TIME_OPTIONS = (
    "datetime_field",
    "datetime_start_field",
    "datetime_end_field",
    "no_datetime",
    "naive_timezone",
)


def time_options(fields: dict[str, Any]) -> dict[str, Any]:
    """The time flags given (``build_options`` leaves the others at their defaults)."""
    return {k: fields[k] for k in TIME_OPTIONS if fields.get(k)}


def _with_progress(
    ingest_file: Callable[[str, Path, LayerMeta, IngestOptions], IngestResult],
    url: str,
    path: Path,
    meta: LayerMeta,
    options: IngestOptions,
) -> IngestResult:
    bar = ProgressBar()
    options.progress = bar.update
    try:
        return ingest_file(url, path, meta, options)
    finally:
        bar.close()


class ProgressBar:
    """tqdm's bar on a terminal (count, rate, ETA), created with the first batch.

    Importing tqdm (~5 ms) then happens while the server parses that batch, not before
    the first byte is sent. Off when ``file`` (stderr) is not a terminal.
    """

    def __init__(self, file: TextIO | None = None, columns: int | None = None) -> None:
        self._file, self._columns = file, columns
        self._bar: Any = None

    def update(self, done: int, expected: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            tqdm.set_lock(RLock())  # one process: tqdm's default lock imports multiprocessing
            self._bar = tqdm(
                file=self._file,
                ncols=self._columns,
                dynamic_ncols=self._columns is None,
                unit=" features",
                unit_scale=True,
                disable=None,
            )
        self._bar.total = expected
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _report(result: IngestResult) -> None:
    click.echo(result.summary())
    for name, count in result.repairs.items():
        if count:
            click.echo(f"  repaired: {name.replace('_', ' ')}: {count}")
    for key, value in result.detected.items():
        if key == "temporal":
            click.echo(f"  temporal: {temporal_line(value)}")
        elif value is not None:  # e.g. no encoding to detect in a GeoPackage
            click.echo(f"  {key}: {value}")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)
    for rollup in result.rollups:
        click.echo(f"  refreshed roll-up layer '{rollup}'")
    peak = peak_memory_mb()
    if peak is not None:
        click.echo(f"  peak memory: {peak} MB")


def temporal_line(temporal: dict[str, Any]) -> str:
    """``observed (named 'observed'), 2024-06-01T00:00:00+00:00 … 2024-06-21T23:00:00+00:00``."""
    if temporal.get("field") is None:
        return f"none ({temporal.get('from')})"
    span = temporal["field"] + (f"/{temporal['end_field']}" if temporal.get("end_field") else "")
    extent = " … ".join(t or ".." for t in temporal.get("extent", []))
    line = f"{span} ({temporal['from']}), {extent}"
    if temporal.get("typed_from_text"):
        line += f"; typed from ISO-8601 text: {', '.join(temporal['typed_from_text'])}"
    return line


def peak_memory_mb() -> int | None:
    """This process's resident high-water mark (Linux), counted from its own start."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((ln for ln in status.splitlines() if ln.startswith("VmHWM:")), None)
    return int(line.split()[1]) // 1024 if line else None
