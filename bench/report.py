"""The suite's results as Markdown: the machine and versions, one table per section, the targets."""

from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata

TARGETS: list[tuple[str, str, str, float, bool]] = [
    # (description, figure key, unit, limit, lower is better)
    ("p50 ratio, lean client, 2025-11-25", "latency.lean.2025-11-25.ratio", "×", 1.5, True),
    ("p50 ratio, lean client, 2026-07-28", "latency.lean.2026-07-28.ratio", "×", 1.5, True),
    ("p50 ratio, SDK client, 2025-11-25", "latency.sdk.2025-11-25.ratio", "×", 1.25, True),
    ("p50 ratio, SDK client, 2026-07-28", "latency.sdk.2026-07-28.ratio", "×", 1.25, True),
    ("gateway CPU per call, 32 lean clients", "cpu.lean.2026-07-28.32.gateway", "ms", 1.0, True),
    ("calls/s at 32 lean clients vs direct", "throughput.lean.2026-07-28.32.gateway.ratio", "×", 0.75, False),
    ("calls/s at 32 SDK clients vs direct", "throughput.sdk.2026-07-28.32.gateway.ratio", "×", 0.9, False),
    ("50 ms tool at 32 clients vs direct", "slow.gateway.ratio", "×", 0.9, False),
    ("tools/list, 10 backends × 20 tools, p50", "list.10.gateway.p50", "ms", 10.0, True),
    ("backend requests per call, 2025-11-25", "requests.2025-11-25.gateway", "", 1.0, True),
    ("backend requests per call, 2026-07-28", "requests.2026-07-28.gateway", "", 1.0, True),
    ("idle RSS with 10 backends", "rss.idle.10.gateway", "MB", 80.0, True),
    ("stretch: calls/s, 32 lean clients, JSON-mode backend", "json.gateway.per_second", "/s", 500.0, False),
    ("stretch: stdio backend, calls/s vs mcp-proxy", "stdio.gateway.ratio", "×", 1.0, False),
]


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def row(self, *values: object) -> None:
        self.rows.append([_cell(v) for v in values])


@dataclass
class Report:
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def section(self, title: str, columns: list[str]) -> Section:
        section = Section(title, columns)
        self.sections.append(section)
        return section

    def figure(self, key: str, value: float) -> None:
        self.figures[key] = value

    def markdown(self, *, quick: bool) -> str:
        lines = ["# Benchmark results", ""]
        if quick:
            lines += ["**Quick mode**: proves the suite runs; the figures mean nothing.", ""]
        lines += [f"- {item}" for item in machine()] + [""]
        lines += ["## Targets", "", "| target | measured | limit | met |", "| --- | --- | --- | --- |"]
        for description, key, unit, limit, lower in TARGETS:
            value = self.figures.get(key)
            if value is None:
                continue
            met = value <= limit if lower else value >= limit
            bound = "≤" if lower else "≥"
            verdict = "yes" if met else "no"
            lines.append(f"| {description} | {_cell(value)} {unit} | {bound} {limit:g} {unit} | {verdict} |")
        for section in self.sections:
            lines += ["", f"## {section.title}", "", "| " + " | ".join(section.columns) + " |"]
            lines.append("|" + " --- |" * len(section.columns))
            lines += ["| " + " | ".join(row) + " |" for row in section.rows]
        return "\n".join(lines) + "\n"


def machine() -> list[str]:
    """Where and with what the figures were measured."""
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{name} {_version(name)}" for name in ("fastmcp", "mcp", "httpx2", "uvicorn"))
    return [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}; {versions}",
    ]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
