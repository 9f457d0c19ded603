"""Coverage-weighted quantiles by the midpoint rule, without sorting (or even gathering) a zone.

The i-th smallest value stands at (cumulative weight − half its weight) / total weight;
quantiles interpolate linearly between those positions (Hazen's rule when all weights are 1).
Ties are ordered by weight, so the answer does not depend on the order the cells came in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Values = NDArray[np.number[Any]]
SAMPLE = 1 << 16  # values sampled to guess the range a quantile lies in


def weighted_quantiles(
    full: Sequence[Values], part: Values, fractions: NDArray[np.float64], qs: Sequence[float]
) -> list[float]:
    """Quantiles ``qs`` (0..1) of cells weighing 1 (``full``, in chunks) or a fraction in 0..1
    (``part`` with ``fractions``).

    The value of rank r has cumulative weight between r + 1 − deficit and r + 1, where
    deficit = Σ(1 − fraction) over the partly covered cells: the quantile lies within a band
    of ranks about deficit wide. A sample brackets the band's values, one counting pass checks
    the bracket and keeps the few values inside it, and only the band itself is sorted.
    (A misleading sample costs time, not accuracy: the bracket is checked by counting.)
    """
    chunks = [*full, part]
    weights = [np.ones(0), fractions]  # only the last chunk has fractions
    n = sum(len(c) for c in chunks)
    if n == 0 or not qs:
        return [float("nan")] * len(qs)
    total = n - len(part) + float(fractions.sum())
    step = max(1, n // SAMPLE)
    sample = np.concatenate([c[::step] for c in chunks])
    result = []
    for q in qs:
        lo, hi = _rank_band(q * total, n - total, n)
        low, high = _bracket(sample, lo / step, hi / step)
        below, inside, w_below, w_inside = _split(chunks, weights, low, high)
        if below > lo or below + len(inside) <= hi:  # the sample misled: take exact pivots
            pivots = np.partition(np.concatenate(chunks), [lo, hi])
            below, inside, w_below, w_inside = _split(chunks, weights, pivots[lo], pivots[hi])
        # Exact pivots among the few values inside; only the band between them is sorted.
        pivots = np.partition(inside, [lo - below, hi - below])
        band = (inside >= pivots[lo - below]) & (inside <= pivots[hi - below])
        w_below += float(w_inside[inside < pivots[lo - below]].sum())
        result.append(_interpolate(q, total, w_below, inside[band], w_inside[band]))
    return result


def _rank_band(target: float, deficit: float, n: int) -> tuple[int, int]:
    """Ranks that surely include the last position ≤ target and the first one after it."""
    return max(0, math.floor(target) - 2), min(n - 1, math.ceil(target + deficit) + 2)


def _bracket(sample: Values, lo: float, hi: float) -> tuple[float, float]:
    """Values likely below rank lo's and above rank hi's (a few standard errors wide)."""
    margin = 6 * math.sqrt(len(sample)) + 2
    first, last = math.floor(lo - margin), math.ceil(hi + margin)
    low = -math.inf if first < 0 else float(np.partition(sample, first)[first])
    high = math.inf if last >= len(sample) else float(np.partition(sample, last)[last])
    return low, high


def _split(
    chunks: list[Values], weights: list[NDArray[np.float64]], low: float, high: float
) -> tuple[int, Values, float, NDArray[np.float64]]:
    """How many values lie below ``low`` and their weight; the values in [low, high], weighted."""
    below, w_below, inside, w_inside = 0, 0.0, [], []
    last = len(chunks) - 1
    for i, chunk in enumerate(chunks):
        under = chunk < low
        within = ~under & (chunk <= high)
        below += int(np.count_nonzero(under))
        inside.append(chunk[within])
        if i == last:
            w_below += float(weights[1][under].sum())
            w_inside.append(weights[1][within])
        else:
            w_below += float(np.count_nonzero(under))
            w_inside.append(np.ones(len(inside[-1])))
    return below, np.concatenate(inside), w_below, np.concatenate(w_inside)


def _interpolate(
    q: float, total: float, below: float, values: Values, weights: NDArray[np.float64]
) -> float:
    order = np.lexsort((weights, values))
    v, w = values[order], weights[order]
    positions = (below + np.cumsum(w) - w / 2) / total
    return float(np.interp(q, positions, v))
