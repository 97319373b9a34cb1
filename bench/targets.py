"""The targets of issue 15 ("a hop that costs almost nothing"), each against a figure of the run.

`today` is the issue's own "today" column: the figures of the committed run before the fast path
(rows the issue does not list take that committed run's figure). It is text, kept as the issue
wrote it; `measured` is this run's median over `--runs`, `spread` the smallest and largest run.
A target is met when the median is within its limit (and, where errors are counted, when no run
had any).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.lean import LEGACY, MODERN

ERAS = (LEGACY, MODERN)


@dataclass(frozen=True)
class Target:
    name: str
    today: str
    key: str
    """The figure (`Report.figures`) the target reads."""
    unit: str
    limit: float
    lower: bool
    """Lower is better (the limit is a ceiling), else a floor."""
    stretch: float | None = None
    signed: bool = False
    """An amount added (shown with its sign)."""
    errors: str | None = None
    """A figure that must be 0 in every run for the target to be met."""
    missing: str = "not measured"

    def verdict(self, value: float, bound: float) -> bool:
        return value <= bound if self.lower else value >= bound

    def show(self, value: float) -> str:
        number = f"{value:+.2f}" if self.signed else f"{value:.1f}" if self.unit == "MB" else f"{value:.2f}"
        return number + self._unit()

    def bound(self, value: float) -> str:
        number = f"{value:+g}" if self.signed else f"{value:g}"
        return ("≤ " if self.lower else "≥ ") + number + self._unit()

    def _unit(self) -> str:
        return "×" if self.unit == "×" else f" {self.unit}" if self.unit else ""


def _per_era() -> list[Target]:
    rows: list[Target] = []
    for era in ERAS:
        rows.append(Target(
            f"gateway CPU per proxied `tools/call`, 32 lean clients, {era}", "2.9–4.0 ms",
            f"cpu.lean.{era}.32.gateway", "ms", 1.0, True, stretch=0.5,
        ))  # fmt: skip
    for era in ERAS:
        rows.append(Target(
            f"p50 added by the gateway, lean client, {era}", "+2.8 to +3.5 ms",
            f"latency.lean.{era}.added_ms", "ms", 1.0, True, stretch=0.5, signed=True,
        ))  # fmt: skip
    for era in ERAS:
        rows.append(
            Target(f"p50, SDK client, {era}", "1.8–2.7×", f"latency.sdk.{era}.ratio", "×", 1.25, True)
        )
    for kind, label in (("lean", "lean"), ("sdk", "SDK")):
        for era in ERAS:
            rows.append(Target(
                f"calls/s at 32 {label} clients vs direct, {era}", "0.38–0.68×",
                f"throughput.{kind}.{era}.32.gateway.ratio", "×", 0.9, False, stretch=1.0,
            ))  # fmt: skip
    return rows


TARGETS: list[Target] = [
    *_per_era(),
    Target(
        "50 ms tool at 32 lean clients vs direct (gateway errors in all runs)",
        "0.68×",
        "slow.gateway.ratio",
        "×",
        0.95,
        False,
        errors="slow.gateway.errors",
    ),
    Target(
        "stdio link, 32 lean clients, calls/s vs `mcp-proxy` on the same backend",
        "0.62×",
        "stdio.gateway.ratio",
        "×",
        1.0,
        False,
        missing="not run (no --mcp-proxy)",
    ),
    Target("idle RSS with 10 backends", "93 MB", "rss.idle.10.gateway", "MB", 80.0, True),
    Target(
        "RSS growth at 32 clients (peak under load − idle at start)",
        "+8 MB",
        "rss.growth.32.gateway",
        "MB",
        25.0,
        True,
        signed=True,
    ),
    Target("`tools/list` p50, 1 backend × 20 tools", "1.58 ms", "list.1.gateway.p50", "ms", 5.0, True),
    Target("`tools/list` p50, 3 backends × 20 tools", "2.11 ms", "list.3.gateway.p50", "ms", 5.0, True),
    Target("`tools/list` p50, 10 backends × 20 tools", "4.2 ms", "list.10.gateway.p50", "ms", 5.0, True),
    Target(
        "`tools/list` flat in N: p50 at 10 backends ÷ p50 at 1",
        "2.65×",
        "list.flatness",
        "×",
        1.5,
        True,
    ),
]
GUARDS: list[Target] = [
    Target(f"backend requests per proxied call, {era}", "1.00", f"requests.{era}.gateway", "", 1.0, True)
    for era in ERAS
]
"""What earlier issues guaranteed and the fast path must keep."""


def markdown(figures: dict[str, list[float]], *, runs: int) -> list[str]:
    """The targets table (and the guards) as Markdown lines."""
    head = "| target | today | measured | spread (min–max) | target limit | met | stretch |"
    lines = [f"## Targets (issue 15; median of {runs} run{'s' if runs != 1 else ''})", ""]
    lines += [head, "|" + " --- |" * 7]
    lines += [_row(target, figures) for target in TARGETS]
    lines += ["", "## Guards (earlier issues)", "", head, "|" + " --- |" * 7]
    lines += [_row(target, figures) for target in GUARDS]
    lines += [
        "",
        "today: the issue's figures (the committed run before the fast path). flat in N is our "
        "reading of the issue's words: the 10-backend p50 within 1.5× the 1-backend p50 (10× the "
        "tools to serialize and parse); the lean client parses answers with orjson (the `tools/list` "
        "table shows what the standard library's json would add) and, timing sequential calls, "
        "pauses its own garbage collector as `timeit` does. Ratios are against a direct call "
        "measured in the same run.",
    ]
    return lines


def _row(target: Target, figures: dict[str, list[float]]) -> str:
    values = figures.get(target.key, [])
    stretch = target.bound(target.stretch) if target.stretch is not None else "–"
    if not values:
        cells = [target.name, target.today, target.missing, "–", target.bound(target.limit), "–", stretch]
        return "| " + " | ".join(cells) + " |"
    median = float(statistics.median(values))
    spread = f"{target.show(min(values))} – {target.show(max(values))}" if len(values) > 1 else "–"
    measured = target.show(median)
    met = target.verdict(median, target.limit)
    if target.errors is not None:
        errors = int(sum(figures.get(target.errors, [])))
        measured += f", {errors} error{'s' if errors != 1 else ''}"
        met = met and errors == 0
    if target.stretch is not None:
        stretch += ": " + ("yes" if target.verdict(median, target.stretch) else "no")
    cells = [target.name, target.today, measured, spread, target.bound(target.limit), _yes(met), stretch]
    return "| " + " | ".join(cells) + " |"


def _yes(met: bool) -> str:
    return "**yes**" if met else "no"
