"""Per-process counts of requests by route class and status, and their latencies.

Plain integers in dicts: one worker is one event loop, so nothing needs a lock, and an
increment costs what a dict lookup costs. ``ogc.observe.exposition`` turns them into
Prometheus families when /metrics is read. Latency buckets are Prometheus's usual ones,
stretched to the 30 s statement timeout.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Latency:
    """One route class's histogram: counts per bucket (not cumulative; the last is +Inf)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))
    total_s: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS_S, seconds)] += 1
        self.total_s += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, count at or below it) pairs, ``+Inf`` last, as exposition wants."""
        pairs, running = [], 0
        for bound, count in zip((*map(str, BUCKETS_S), "+Inf"), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


@dataclass
class RequestMetrics:
    """What this process has answered through ASGI (the protocol's at-once answers are
    counted by the fast layer itself: ``TileCacheFastPath.at_once``)."""

    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    latency: dict[str, Latency] = field(default_factory=dict)

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        found = self.latency.get(route)
        if found is None:
            found = self.latency[route] = Latency()
        found.observe(seconds)
