"""Run jobs in worker threads, each on its own database session.

The session is named ``onemap-job-<id>`` and carries a statement timeout, so a dismissal
from any replica can cancel it (``pg_cancel_backend``) and no job runs unbounded. Progress
is written to the job row; each progress report and each checkpoint of the analysis (between
steps and inside long loops) notices a dismissal — at once when it came through this process,
within a second from another replica — and stops the Python parts. ``shutdown`` stops every
running job the same way, cancels its SQL and marks it failed as interrupted, so a stopping
server neither waits for its jobs nor leaves them "running". A server that cannot stop
in order (killed, crashed) leaves them to the lease (``ogc.processes.lease``): ``heartbeat``
renews this process's and reaps what other processes left. Results are stored with the
final status in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from layers.access.audit import AuditEvent, record_sync
from layers.access.audit import Outcome as AuditOutcome
from layers.access.caller import Caller
from layers.catalog import Catalog
from layers.db import with_options
from layers.errors import (
    DatabaseUnavailable,
    Forbidden,
    OneMapError,
    PayloadTooLarge,
)
from layers.platform import AdminLayers
from ogc.errors import status_of
from ogc.gate.areas import analysis_clips
from ogc.gate.visible import visible_catalog
from ogc.processes.encode import EncodedOutput, encode, selected_outputs
from ogc.processes.jobs import APPLICATION_PREFIX, CANCEL_BACKEND, owner_from, processes_sql
from ogc.processes.lease import JobLease, reap, release, renew
from ogc.processes.publish import PublishRequest, publish_result
from spatial.context import Context
from spatial.isolate import Isolation
from spatial.registry import Analysis, AnalysisRegistry

log = logging.getLogger("onemap.jobs")

PROGRESS = """
    UPDATE onemap.jobs SET progress = %s, message = %s, updated_at = now()
    WHERE id = %s AND status = 'running' RETURNING 1"""
FINISH = """
    UPDATE onemap.jobs SET status = %s, message = %s, progress = %s, lineage = %s,
           parameters = %s, published_layer = %s, failure_status = %s, failure_type = %s,
           finished_at = now(), updated_at = now()
    WHERE id = %s AND status = 'running' RETURNING 1"""
STORE_RESULT = """
    INSERT INTO onemap.job_results (job_id, output_id, media_type, body) VALUES (%s, %s, %s, %s)"""
STATUS = "SELECT status FROM onemap.jobs WHERE id = %s"
INTERRUPT = """
    UPDATE onemap.jobs SET status = 'failed', finished_at = now(), updated_at = now(),
           failure_status = 503,
           message = 'interrupted: the server stopped while this job ran; submit it again'
    WHERE id = ANY(%s::uuid[]) AND status = 'running'"""
DEFAULT_LEASE_S = 30.0  # ONEMAP_JOB_LEASE_S
DB_CHECK_INTERVAL_S = 1.0  # how often a checkpoint asks the database about a dismissal
SHUTDOWN_WAIT_S = 10.0  # how long a stopping server waits for interrupted jobs to stop


class InternalJobError(OneMapError):
    """A job failed by a bug, not its inputs: answered as a 500 (no status of its own)."""


class JobDismissed(Exception):
    """The client dismissed the job while it ran."""


class JobInterrupted(Exception):
    """The server is stopping."""


class JobTimedOut(Exception):
    """A synchronous run reached its time limit (the whole run, not one statement)."""


def time_limit_error(timeout_ms: int, limit: str = "the statement timeout") -> PayloadTooLarge:
    """What a caller is told of a run stopped by its time limit (the statement timeout, or
    an asynchronous job's own limit)."""
    return PayloadTooLarge(
        f"the job exceeded {limit} of {timeout_ms / 1000:g} s; narrow the "
        "inputs (an adcode, a smaller area, a larger cell size)"
    )


@dataclass
class Outcome:
    status: str
    outputs: list[EncodedOutput] = field(default_factory=list)
    error: BaseException | None = None


@dataclass
class JobRunner:
    database_url: str
    registry: AnalysisRegistry
    catalog: Callable[[], Catalog]
    statement_timeout_ms: int
    raster_dir: Path
    admin_layers: AdminLayers  # the app's ONEMAP_ADMIN_LAYERS, not the process environment's
    raster_roots: tuple[Path, ...] | None = None
    workers: int = 2
    isolation: Isolation | None = None  # where analyses' heavy parts run (``Context.compute``)
    job_timeout_ms: int = 0  # an asynchronous job's wall-clock limit (0: statements only)
    lease: JobLease = field(default_factory=lambda: JobLease(DEFAULT_LEASE_S))
    executor: ThreadPoolExecutor = field(init=False)
    stopping: threading.Event = field(init=False, default_factory=threading.Event)
    running: dict[str, threading.Event] = field(init=False, default_factory=dict)
    expired: set[str] = field(init=False, default_factory=set)  # sync runs past their limit
    limits: dict[str, int] = field(init=False, default_factory=dict)  # async job -> its limit
    queued: set[str] = field(init=False, default_factory=set)  # submitted, not yet finished

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="onemap-job")

    def raster_roots_of(self, caller: Caller) -> tuple[Path, ...] | None:
        """Where ``caller``'s raster inputs may name server files: below the data roots for
        admins, nowhere for anyone else (they name raster layers, through the gate)."""
        return self.raster_roots if caller.is_admin else ()

    def cancel(self, job_id: str) -> None:
        """A dismissal made through this process: its job stops at the next checkpoint."""
        event = self.running.get(job_id)
        if event is not None:
            event.set()

    def shutdown(self, timeout_s: float = SHUTDOWN_WAIT_S) -> None:
        """Stop at once: queued jobs stay accepted, their leases given up (the next start or
        another replica runs them at once), running ones are marked interrupted, their SQL is
        cancelled and their Python stops at a checkpoint. Then the worker threads are joined
        (within ``timeout_s``), so none outlives the app.
        """
        self.stopping.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        running, waiting = list(self.running), self.queued - set(self.running)
        if running or waiting:
            with psycopg.connect(with_options(self.database_url), autocommit=True) as conn:
                release(conn, waiting)
                conn.execute(INTERRUPT, (running,))
                for job_id in running:
                    conn.execute(CANCEL_BACKEND, (APPLICATION_PREFIX + job_id,))
        if running:
            log.warning("server stopping: %d running jobs interrupted", len(running))
        deadline = time.monotonic() + timeout_s
        while self.running and time.monotonic() < deadline:
            time.sleep(0.02)  # each job stops at its next checkpoint
        if self.running:
            log.warning("%d jobs still stopping after %.0f s", len(self.running), timeout_s)
            return
        self.executor.shutdown(wait=True)  # idle workers exit at once

    def submit(self, job_id: str, analysis: Analysis[Any]) -> None:
        self.queued.add(job_id)  # leased (renewed by ``heartbeat``) until it has run
        self.executor.submit(self._run_queued, job_id, analysis)

    def _run_queued(self, job_id: str, analysis: Analysis[Any]) -> Outcome:
        try:
            if not self.job_timeout_ms:
                return self.run(job_id, analysis)
            self.limits[job_id] = self.job_timeout_ms
            statements = min(self.statement_timeout_ms, self.job_timeout_ms)
            return self.run_sync(job_id, analysis, self.job_timeout_ms, statements)
        finally:
            self.queued.discard(job_id)
            self.limits.pop(job_id, None)

    def run_sync(
        self,
        job_id: str,
        analysis: Analysis[Any],
        timeout_ms: int,
        statement_timeout_ms: int | None = None,
    ) -> Outcome:
        """A run bounded as a whole by ``timeout_ms``, not only statement by statement: at
        the limit its SQL is cancelled and its Python stops at the next checkpoint (a child
        process of its heavy part is killed). Statements are bounded by
        ``statement_timeout_ms`` (default: ``timeout_ms``)."""
        timer = threading.Timer(timeout_ms / 1000, self._expire, (job_id,))
        timer.daemon = True
        timer.start()
        try:
            outcome = self.run(job_id, analysis, statement_timeout_ms or timeout_ms)
        finally:
            timer.cancel()
            expired = job_id in self.expired
            error = self._limit_error(job_id, statement_timeout_ms or timeout_ms)
            self.expired.discard(job_id)
        if expired and not isinstance(outcome.error, OneMapError | None):
            return Outcome("failed", error=error)  # cut while finishing
        return outcome

    def _limit_error(self, job_id: str, statement_timeout_ms: int) -> PayloadTooLarge:
        """The time-limit error of a stopped run: an asynchronous job's own limit when that
        stopped it, else the statement timeout (a synchronous run's limit)."""
        if job_id in self.expired and job_id in self.limits:
            return time_limit_error(self.limits[job_id], "its time limit (ONEMAP_JOB_TIMEOUT_S)")
        return time_limit_error(statement_timeout_ms)

    def _expire(self, job_id: str) -> None:
        """The time limit of a synchronous run: stop its Python and cancel its statement."""
        if job_id not in self.running:
            return
        self.expired.add(job_id)
        try:
            conninfo = with_options(self.database_url, connect_timeout_s=2)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(CANCEL_BACKEND, (APPLICATION_PREFIX + job_id,))
        except psycopg.Error as exc:  # the database is gone: the job fails on its own
            log.warning("could not cancel the statement of job %s: %s", job_id, exc)

    def heartbeat(self) -> None:
        """Renew the leases of this process's jobs, then reap expired ones (``ogc.processes
        .lease``): at start-up this fails what a stopped server left running and queues
        what it left waiting; afterwards, what a killed worker or replica left."""
        with psycopg.connect(with_options(self.database_url, connect_timeout_s=2)) as conn:
            with conn.transaction():
                renew(conn, self.lease, self.queued | set(self.running))
            with conn.transaction():
                reaped = reap(conn, self.lease, self.registry.analyses)
        if reaped.failed:
            log.warning("%d jobs of a stopped server process marked failed", reaped.failed)
        for job_id, process_id in reaped.taken_over:
            log.info("job %s of a stopped server process taken over", job_id)
            self.submit(job_id, self.registry.get(process_id))

    def run(self, job_id: str, analysis: Analysis[Any], timeout_ms: int | None = None) -> Outcome:
        timeout_ms = timeout_ms or self.statement_timeout_ms
        if self.stopping.is_set():
            return Outcome("failed", error=_stopping())
        self.running[job_id] = threading.Event()
        try:
            with self._session(job_id, timeout_ms) as conn:
                return self._run_claimed(conn, job_id, analysis, timeout_ms)
        except Exception as exc:  # the session itself failed: nothing else can record it
            log.exception("job %s could not run", job_id)
            return Outcome("failed", error=exc)
        finally:
            self.running.pop(job_id, None)

    def _session(self, job_id: str, timeout_ms: int) -> psycopg.Connection:
        return psycopg.connect(
            with_options(self.database_url, statement_timeout_ms=timeout_ms, parallel=True),
            autocommit=True,
            application_name=APPLICATION_PREFIX + job_id,
        )

    def _run_claimed(
        self, conn: psycopg.Connection, job_id: str, analysis: Analysis[Any], timeout_ms: int
    ) -> Outcome:
        claimed = conn.execute(processes_sql("claim_job"), (job_id,)).fetchone()
        if claimed is None:
            return Outcome("dismissed")  # taken by another replica, or dismissed meanwhile
        request, owner = claimed[0], owner_from(*claimed[1:])  # the job runs as its owner
        should_stop = self._stopper(conn, job_id)
        catalog = self.catalog()
        ctx = Context(
            conn=conn,
            catalog=visible_catalog(catalog, owner),  # the owner's view
            progress=self._reporter(conn, job_id, should_stop),
            admin_layers=self.admin_layers,
            raster_roots=self.raster_roots_of(owner),
            should_stop=should_stop,
            isolation=self.isolation,
        )
        try:  # an area-limited owner reads inside their areas only (clipped in SQL)
            ctx.clips = analysis_clips(conn, catalog, owner, self.admin_layers)
            outputs, published = self._execute(ctx, job_id, analysis, request, owner)
        except (JobDismissed, JobInterrupted, JobTimedOut, psycopg.errors.QueryCanceled) as exc:
            return self._stopped(conn, job_id, ctx, exc, timeout_ms)
        except OneMapError as exc:
            self._finish(conn, job_id, ctx, "failed", exc.message, failure=exc)
            return Outcome("failed", error=exc)
        except Exception as exc:
            log.exception("job %s (%s) failed", job_id, analysis.id)
            message = f"internal error: {type(exc).__name__}"
            self._finish(conn, job_id, ctx, "failed", message, failure=InternalJobError(message))
            return Outcome("failed", error=exc)
        with conn.transaction():
            if not self._finish(conn, job_id, ctx, "successful", "done", published):
                return Outcome("dismissed")
            for out in outputs:
                conn.execute(STORE_RESULT, (job_id, out.output_id, out.media_type, out.body))
        return Outcome("successful", outputs)

    def _execute(
        self,
        ctx: Context,
        job_id: str,
        analysis: Analysis[Any],
        request: dict[str, Any],
        owner: Caller,
    ) -> tuple[list[EncodedOutput], str | None]:
        wanted = selected_outputs(analysis, list(request.get("outputs") or {}))
        result = analysis.execute(request.get("inputs") or {}, ctx)
        ctx.progress(90, "encoding results")
        published = None
        if request.get("publish"):
            publish = PublishRequest.model_validate(request["publish"])
            event = AuditEvent(
                "layer.publish",
                owner,
                layer_id=publish.collection,
                detail={"job": job_id, "process": analysis.id},
            )
            try:
                publish_result(
                    self.database_url,
                    result,
                    publish,
                    process_id=analysis.id,
                    job_id=job_id,
                    parameters=ctx.parameters,
                    owner=owner,
                    catalog=self.catalog(),
                    raster_dir=self.raster_dir,
                    audit=event,  # written with the new version, in its transaction
                )
            except OneMapError as exc:
                outcome: AuditOutcome = "denied" if isinstance(exc, Forbidden) else "failed"
                detail = dict(event.detail) | {"reason": exc.message[:500]}
                record_sync(self.database_url, replace(event, outcome=outcome, detail=detail))
                raise
            published = publish.collection
        return encode(result, wanted), published

    def _stopped(
        self,
        conn: psycopg.Connection,
        job_id: str,
        ctx: Context,
        exc: BaseException,
        timeout_ms: int,
    ) -> Outcome:
        status = conn.execute(STATUS, (job_id,)).fetchone()
        if status is None or status[0] == "dismissed":
            return Outcome("dismissed", error=exc)
        if self.stopping.is_set():
            conn.execute(INTERRUPT, ([job_id],))
            return Outcome("failed", error=_stopping())
        error = self._limit_error(job_id, timeout_ms)
        self._finish(conn, job_id, ctx, "failed", error.message, failure=error)
        return Outcome("failed", error=error)

    def _finish(
        self,
        conn: psycopg.Connection,
        job_id: str,
        ctx: Context,
        status: str,
        message: str,
        published: str | None = None,
        failure: OneMapError | None = None,
    ) -> bool:
        progress = 100 if status == "successful" else 0
        failed = (None, None) if failure is None else (status_of(failure), _type_of(failure))
        row = conn.execute(
            FINISH,
            (
                status,
                message[:2000],
                progress,
                Jsonb(ctx.lineage()),
                Jsonb(ctx.parameters) if ctx.parameters else None,
                published,
                *failed,
                job_id,
            ),
        ).fetchone()
        return row is not None

    def _stopper(self, conn: psycopg.Connection, job_id: str) -> Callable[[], None]:
        """Raises when the job must stop: the server stops, or the job was dismissed."""
        dismissed = self.running.setdefault(job_id, threading.Event())
        asked_at = time.monotonic()

        def should_stop() -> None:
            nonlocal asked_at
            if self.stopping.is_set():
                raise JobInterrupted(job_id)
            if job_id in self.expired:
                raise JobTimedOut(job_id)
            if dismissed.is_set():
                raise JobDismissed(job_id)
            if time.monotonic() - asked_at >= DB_CHECK_INTERVAL_S:  # another replica's DELETE
                asked_at = time.monotonic()
                row = conn.execute(STATUS, (job_id,)).fetchone()
                if row is None or row[0] != "running":
                    raise JobDismissed(job_id)

        return should_stop

    @staticmethod
    def _reporter(
        conn: psycopg.Connection, job_id: str, should_stop: Callable[[], None]
    ) -> Callable[[int, str], None]:
        def report(percent: int, message: str) -> None:
            should_stop()
            row = conn.execute(PROGRESS, (max(0, min(99, percent)), message, job_id)).fetchone()
            if row is None:
                raise JobDismissed(job_id)

        return report


def _type_of(error: OneMapError) -> str | None:
    exception_type = getattr(error, "exception_type", None)
    return exception_type if isinstance(exception_type, str) else None


def _stopping() -> DatabaseUnavailable:
    return DatabaseUnavailable("the server is stopping; submit the job again in a moment")
