"""Run an analysis' heavy Python part in a child process with a memory bound.

Inside the server a run's numpy arrays are the server's memory: a k=64 interpolation took
it from 0.5 to 2.6 GB, and glibc rarely hands such peaks back. In a child the peak is the
child's; it ends when the child exits, and the server receives only the result. The child:

- is forked from a *forkserver* (a clean single-threaded process that preloaded the
  analysis modules), not from the threaded server: a fork of a process with threads may
  inherit a lock some other thread held; a spawned interpreter would import numpy, scipy
  and geopandas again for every run (seconds);
- sets ``RLIMIT_AS`` to its address space at start + the bound, so the bound counts only
  what the run allocates (the imported libraries already map hundreds of MB) and an
  allocation past it fails there as ``MemoryError`` — the run fails, nothing else does.
  Chosen over a cgroup (needs a delegated hierarchy the service may not have) and over
  watching RSS from outside (a peak can come and kill the host between two samples);
- runs at a lower priority (``nice``), so on a small machine request handling gets the
  CPU first; and it holds no GIL of the server's.

The parent waits on the result calling ``checkpoint`` every ``POLL_S``, so a dismissed,
timed-out or interrupted job kills its child at once even where the analysis itself has
no checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from layers.errors import OneMapError, PayloadTooLarge

T = TypeVar("T")
MB = 2**20
POLL_S = 0.1
# Warmed in the forkserver once, so each child starts with them imported.
PRELOAD = ["spatial.interpolation", "spatial.terrain", "spatial.suitability", "spatial.flood"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


class WorkerDied(OneMapError):
    """The child process ended without an answer (killed from outside, a crash)."""


@dataclass(frozen=True)
class Isolation:
    """How heavy parts run: at most ``max_memory_mb`` MB more than a fresh child holds."""

    max_memory_mb: int
    nice: int = 5  # a quarter of a core's share against the server's threads when contended

    @staticmethod
    def warm() -> None:
        """Start the forkserver (it imports the analysis modules: seconds) before a job
        needs it; idempotent."""
        forkserver.ensure_running()

    def run(
        self, checkpoint: Callable[[], None], fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` in a child; its result, or its error raised here."""
        receiver, sender = _context.Pipe(duplex=False)
        child = _context.Process(
            target=_child,
            args=(sender, self.max_memory_mb, self.nice, fn, args, kwargs),
            daemon=True,
        )
        child.start()
        sender.close()  # only the child writes: EOF here once it is gone
        try:
            outcome, value = _wait(receiver, child, checkpoint)
        finally:
            if child.is_alive():
                child.kill()  # stopped by a checkpoint: the job is over
            child.join()
            receiver.close()
        if outcome == "ok":
            return value  # type: ignore[no-any-return]
        if outcome == "memory":
            raise self.exceeded()
        raise value

    def exceeded(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the run exceeded {self.max_memory_mb:,} MB, the memory a process run may use; "
            "narrow the inputs (an adcode, a smaller area, a larger cell size, fewer neighbours)"
        )


def _wait(receiver: Connection, child: Any, checkpoint: Callable[[], None]) -> tuple[str, Any]:
    while not receiver.poll(POLL_S):
        checkpoint()
    try:
        outcome, value = receiver.recv()
    except EOFError:  # the child exited without a word
        child.join()
        code = child.exitcode
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"status {code}"
        raise WorkerDied(f"the analysis' worker process ended ({how}) before it answered") from None
    return outcome, value


def _child(
    sender: Connection,
    max_memory_mb: int,
    nice: int,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    os.nice(nice)
    _limit_address_space(max_memory_mb * MB)
    try:
        sender.send(("ok", fn(*args, **kwargs)))
    except MemoryError:
        sender.send(("memory", None))
    except Exception as exc:  # a bad input (OneMapError) or a bug: the parent raises it
        try:
            sender.send(("error", exc))
        except Exception:  # an error that does not pickle: its text
            sender.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        sender.close()


def _limit_address_space(extra: int) -> None:
    """RLIMIT_AS = this process's address space now + ``extra`` bytes."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    now = pages * resource.getpagesize()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = now + extra if hard == resource.RLIM_INFINITY else min(now + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
