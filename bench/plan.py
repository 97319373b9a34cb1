"""What one run of the suite measures with: its scratch folder, its sizes, its report, its turn.

Every section (`bench.hop`, `bench.setups`) takes a `Plan` and adds its table and figures to
`plan.out`. Runs alternate the order in which paths are measured (`Plan.order`), so a machine
that gets busier or quieter during a run favours neither path in the median over runs.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from bench import report

T = TypeVar("T")


def run(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Run one async measurement to completion."""
    return anyio.run(functools.partial(fn, *args, **kwargs))


@dataclass
class Plan:
    work: Path
    quick: bool
    index: int = 0
    """Which run this is (0-based): odd runs measure paths in the reverse order."""
    contextforge: str | None = None
    """A Python (>= 3.12) with `mcp-contextforge-gateway` installed, to measure it too."""
    mcp_proxy: str | None = None
    """The `mcp-proxy` command, to compare the stdio link with that 1:1 bridge."""
    out: report.Report = field(default_factory=report.Report)
    baselines: list[str] = field(default_factory=list)
    """The other proxies measured beside the gateway (stock proxy, ContextForge)."""

    @property
    def calls(self) -> int:
        """Sequential calls per path for a latency figure."""
        return 20 if self.quick else 300

    @property
    def seconds(self) -> float:
        """How long each throughput figure runs."""
        return 0.4 if self.quick else 3.0

    def order(self, items: Sequence[T]) -> list[T]:
        """`items` in the order this run measures them."""
        return list(items) if self.index % 2 == 0 else list(reversed(items))

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Say on stderr how long a section took (the suite's own progress log)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - started
            print(f"[bench] run {self.index + 1}: {name} took {took:.1f} s", file=sys.stderr, flush=True)
