"""The suite's results as Markdown: the machine and versions, the targets, one table per section.

A run fills one `Report` (its tables and its named figures). With `--runs N` the suite merges the
N reports into one (`merge`): every numeric cell of a table is the median over the runs (the
`errors` columns are summed, so no error hides behind a median), and every figure keeps all its
values, from which the targets table takes the median and the spread.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass, field
from importlib import metadata

from bench import targets

Cell = str | int | float | None
VERSIONED = ("fastmcp", "mcp", "httpx2", "uvicorn", "orjson", "uvloop", "httptools", "py-spy")
SUMMED = {"errors"}
"""Columns whose cells are added up over the runs instead of taking the median."""


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def row(self, *values: Cell) -> None:
        self.rows.append(list(values))


@dataclass
class Report:
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, list[float]] = field(default_factory=dict)
    """Each named figure's value in every run (one value per run)."""
    runs: int = 1
    notes: list[str] = field(default_factory=list)
    """Lines for the header: how the run was made (runs, durations, baselines, load)."""
    appendix: list[str] = field(default_factory=list)
    """Markdown appended after the tables (the profile summary)."""

    def section(self, title: str, columns: list[str]) -> Section:
        section = Section(title, columns)
        self.sections.append(section)
        return section

    def figure(self, key: str, value: float) -> None:
        self.figures.setdefault(key, []).append(value)

    def markdown(self, *, quick: bool) -> str:
        lines = ["# Benchmark results", ""]
        if quick:
            lines += ["**Quick mode**: proves the suite runs; the figures mean nothing.", ""]
        lines += [f"- {item}" for item in [*machine(), *self.notes]] + [""]
        lines += targets.markdown(self.figures, runs=self.runs)
        for section in self.sections:
            lines += ["", f"## {section.title}", "", "| " + " | ".join(section.columns) + " |"]
            lines.append("|" + " --- |" * len(section.columns))
            lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in section.rows]
        if self.appendix:
            lines += ["", *self.appendix]
        return "\n".join(lines) + "\n"


def merge(reports: list[Report]) -> Report:
    """One report from several runs of the same plan: median cells, summed errors, all figures."""
    first = reports[0]
    merged = Report(runs=len(reports))
    for index, section in enumerate(first.sections):
        twins = [r.sections[index] for r in reports if len(r.sections) > index]
        out = merged.section(section.title, section.columns)
        for row_index in range(len(section.rows)):
            rows = [t.rows[row_index] for t in twins if len(t.rows) > row_index]
            out.row(*(_merge_cell(column, [r[i] for r in rows]) for i, column in enumerate(section.columns)))
    for report in reports:
        for key, values in report.figures.items():
            merged.figures.setdefault(key, []).extend(values)
    return merged


def _merge_cell(column: str, values: list[Cell]) -> Cell:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values) or not numbers:
        return next((v for v in values if v is not None), None)
    if column in SUMMED:
        return sum(numbers)
    if all(n == numbers[0] for n in numbers):
        return numbers[0]
    return float(statistics.median(numbers))


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
    versions = ", ".join(f"{name} {version(name)}" for name in VERSIONED)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"load average at the end: {load}",
        f"Python {platform.python_version()}; {versions}",
    ]


def version(name: str) -> str:
    """An installed distribution's version, or `absent`."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def cell(value: Cell) -> str:
    """A table cell: two decimals below 100, none above, a dash for nothing."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
