"""`MetricsHistory`: the gateway's own metrics, sampled every few seconds into a bounded ring,
for the console's per-backend figures (calls/s, error rate, p50/p99) and its charts.

Nothing is measured twice: a sample reads the Prometheus series the gateway keeps anyway
(`Metrics.calls`, `Metrics.latency`), summed per backend. Rates come from the difference of two
samples; percentiles from the difference of their latency histograms, interpolated within a
bucket the way Prometheus' `histogram_quantile` does. The sampler runs in the gateway's task
host, once per `ui.sample_interval`, and keeps `ui.history` worth of samples: its cost does not
depend on the traffic, and a proxied call does nothing for it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import anyio

from gateway.observability.metrics import LATENCY_BUCKETS, Metrics

ERROR_OUTCOMES = frozenset({"error", "tool_error"})
"""Outcomes counted as errors (a refusal, `rejected` or `rate_limited`, is the policy working)."""
BOUNDS = (*LATENCY_BUCKETS, math.inf)
_BOUND_INDEX = {bound: number for number, bound in enumerate(BOUNDS)}


@dataclass(frozen=True)
class Totals:
    """One backend's counters at one moment (since the gateway started)."""

    calls: float = 0.0
    errors: float = 0.0
    buckets: tuple[float, ...] = (0.0,) * len(BOUNDS)
    """Cumulative latency histogram: calls at or under each bound of `BOUNDS`."""

    def minus(self, older: Totals) -> Totals:
        return Totals(
            self.calls - older.calls,
            self.errors - older.errors,
            tuple(a - b for a, b in zip(self.buckets, older.buckets, strict=True)),
        )


@dataclass(frozen=True)
class Sample:
    """Every backend's totals at `at` (seconds since the epoch)."""

    at: float
    backends: Mapping[str, Totals]


@dataclass(frozen=True)
class Rates:
    """What happened between two samples."""

    seconds: float
    calls: float
    calls_per_s: float | None
    errors_per_s: float | None
    error_rate: float | None
    """Errors / calls (None: no calls)."""
    p50_ms: float | None
    p99_ms: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "window_s": _round(self.seconds),
            "calls": self.calls,
            "calls_per_s": _round(self.calls_per_s),
            "errors_per_s": _round(self.errors_per_s),
            "error_rate": _round(self.error_rate, 4),
            "p50_ms": _round(self.p50_ms),
            "p99_ms": _round(self.p99_ms),
        }


def read(metrics: Metrics) -> dict[str, Totals]:
    """Each backend's totals now, from the gateway's Prometheus series."""
    calls: dict[str, list[float]] = {}
    for family in metrics.calls.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts = calls.setdefault(sample.labels["backend"], [0.0, 0.0])
                counts[0] += sample.value
                if sample.labels["outcome"] in ERROR_OUTCOMES:
                    counts[1] += sample.value
    buckets: dict[str, list[float]] = {}
    for family in metrics.latency.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                number = _BOUND_INDEX.get(float(sample.labels["le"]))
                if number is not None:
                    row = buckets.setdefault(sample.labels["backend"], [0.0] * len(BOUNDS))
                    row[number] += sample.value
    totals: dict[str, Totals] = {}
    for name in calls.keys() | buckets.keys():
        made, failed = calls.get(name, [0.0, 0.0])
        totals[name] = Totals(made, failed, tuple(buckets.get(name, [0.0] * len(BOUNDS))))
    return totals


def quantile(q: float, buckets: tuple[float, ...]) -> float | None:
    """The `q` quantile in seconds of a cumulative histogram over `BOUNDS` (None: empty)."""
    total = buckets[-1]
    if total <= 0:
        return None
    rank = q * total
    below, lower = 0.0, 0.0
    for bound, count in zip(BOUNDS, buckets, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower  # above the largest finite bound: say the bound, as Prometheus does
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        below, lower = count, bound
    return lower


def rates(change: Totals, seconds: float) -> Rates:
    """The rates and percentiles of `change` (one backend's totals between two samples)."""
    per_second = seconds > 0
    p50, p99 = quantile(0.5, change.buckets), quantile(0.99, change.buckets)
    return Rates(
        seconds=seconds,
        calls=change.calls,
        calls_per_s=change.calls / seconds if per_second else None,
        errors_per_s=change.errors / seconds if per_second else None,
        error_rate=change.errors / change.calls if change.calls > 0 else None,
        p50_ms=p50 * 1000 if p50 is not None else None,
        p99_ms=p99 * 1000 if p99 is not None else None,
    )


class MetricsHistory:
    """Samples of the gateway's metrics over the last `keep` seconds, one every `interval`."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        interval: float,
        keep: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._metrics = metrics
        self.interval = interval
        self._clock = clock
        self._samples: deque[Sample] = deque(maxlen=max(2, math.ceil(keep / interval) + 1))

    def sample(self) -> Sample:
        """Take one sample and keep it."""
        taken = self.now()
        self._samples.append(taken)
        return taken

    def now(self) -> Sample:
        """The totals at this moment (not kept)."""
        return Sample(self._clock(), read(self._metrics))

    async def run(self) -> None:
        """Sample every interval, until cancelled."""
        while True:
            self.sample()
            await anyio.sleep(self.interval)

    def recent(self, window: float) -> dict[str, Rates]:
        """Each backend over (about) the last `window` seconds, up to this moment."""
        current = self.now()
        since = current.at - window
        base = next((s for s in self._samples if s.at >= since), None)
        if base is None and self._samples:
            base = self._samples[-1]
        seconds = current.at - base.at if base is not None else 0.0
        empty = Totals()
        return {
            name: rates(totals.minus(base.backends.get(name, empty) if base else empty), seconds)
            for name, totals in current.backends.items()
        }

    def series(self, names: Iterable[str]) -> dict[str, object]:
        """The charts' data for the backends `names`: one point per interval between samples."""
        samples = list(self._samples)
        names = list(names)
        times: list[float] = []
        lines: dict[str, dict[str, list[float | None]]] = {
            name: {"calls_per_s": [], "errors_per_s": [], "p50_ms": [], "p99_ms": []} for name in names
        }
        empty = Totals()
        for older, newer in itertools.pairwise(samples):
            times.append(round(newer.at, 3))
            for name in names:
                change = newer.backends.get(name, empty).minus(older.backends.get(name, empty))
                figures = rates(change, newer.at - older.at).as_dict()
                for key, points in lines[name].items():
                    points.append(figures[key])
        return {"interval_s": self.interval, "t": times, "backends": lines}


def _round(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None
