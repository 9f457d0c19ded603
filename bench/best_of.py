"""Best-of-N wall time of a call (the analysis benches against their peers; the machine is
shared, so the fastest run is the one least disturbed by others)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``runs`` calls (seconds) and the last call's result."""
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def report(name: str, ours: float, peer: float, peer_name: str, agreement: str) -> None:
    print(
        f"{name}: OneMap {ours:.3f} s, {peer_name} {peer:.3f} s, "
        f"peer / OneMap {peer / ours:.1f}×; {agreement}"
    )
