"""Statistics of one zone, gathered strip by strip: fully covered cells weigh 1, partly covered
ones their fraction (kept apart, so the bulk of the cells never needs a weight array)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial.zonal.quantiles import weighted_quantiles

Values = NDArray[np.number[Any]]
NAN = float("nan")


class ZoneStats:
    """Weighted count, sum, min, max and variance (Chan's merge of per-strip moments)."""

    def __init__(self, keep_values: bool) -> None:
        self.weight = self.total = self.m2 = 0.0
        self.low, self.high = math.inf, -math.inf
        self.keep_values = keep_values  # for the quantiles
        self.full: list[Values] = []
        self.part: list[Values] = []
        self.fractions: list[NDArray[np.float64]] = []

    def add(self, full: Values, part: Values, fractions: NDArray[np.float64]) -> None:
        weight = len(full) + float(fractions.sum())
        if weight == 0:
            return
        total = float(full.sum(dtype=np.float64)) + float((fractions * part).sum())
        mean = total / weight
        # (square-and-sum rather than a dot product: BLAS would spin up threads of its own)
        deviation = np.subtract(full, mean, dtype=np.float64)
        m2 = float(np.square(deviation, out=deviation).sum())
        m2 += float((fractions * np.square(np.subtract(part, mean, dtype=np.float64))).sum())
        if self.weight:
            delta = mean - self.total / self.weight
            m2 += delta * delta * self.weight * weight / (self.weight + weight)
        self.weight, self.total, self.m2 = self.weight + weight, self.total + total, self.m2 + m2
        for values in (full, part):
            if len(values):
                self.low = min(self.low, float(values.min()))
                self.high = max(self.high, float(values.max()))
        if self.keep_values:
            self.full.append(full)
            self.part.append(part)
            self.fractions.append(fractions)

    def row(self, qs: Sequence[float]) -> list[float]:
        """valid_count, min, max, mean, std (population), sum and the quantiles ``qs``."""
        if self.weight == 0:
            return [0.0, NAN, NAN, NAN, NAN, 0.0, *[NAN] * len(qs)]
        quantiles = (
            weighted_quantiles(
                self.full, np.concatenate(self.part), np.concatenate(self.fractions), qs
            )
            if qs
            else []
        )
        mean, std = self.total / self.weight, math.sqrt(max(self.m2, 0.0) / self.weight)
        return [self.weight, self.low, self.high, mean, std, self.total, *quantiles]
