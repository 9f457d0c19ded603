"""Heavy parts for the process-bound tests, importable by a child process (few imports)."""

from __future__ import annotations

import time

import numpy as np

CHUNK = 16 * 2**20  # bytes per allocation, each touched so it is really held


def hold(total_mb: int) -> int:
    """Allocate and touch ``total_mb`` MB in chunks; the MB held."""
    chunks = [np.ones(CHUNK // 8) for _ in range(total_mb * 2**20 // CHUNK)]
    return sum(c.nbytes for c in chunks) // 2**20


def nap(seconds: float) -> float:
    """Plain Python that reaches no checkpoint."""
    time.sleep(seconds)
    return seconds
