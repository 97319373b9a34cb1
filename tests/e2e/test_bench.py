"""The benchmark suite runs end to end (quick mode: the figures mean nothing, the table must be whole)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT

pytestmark = pytest.mark.e2e

SECTIONS = [
    "## Targets",
    "## Sequential latency",
    "## Backend HTTP requests per proxied call",
    "## Throughput",
    "## A tool that sleeps 50 ms",
    "## tools/list, N backends",
    "## Per link kind",
    "## JSON-mode backend",
]


def test_the_quick_benchmark_produces_every_table(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    done = subprocess.run(
        [PYTHON, "-m", "bench.suite", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = output.read_text()
    for heading in SECTIONS:
        assert heading in text, heading
    assert "Quick mode" in text
    throughput = table(text, "## Throughput")
    assert len(throughput) == 18  # 6 client/era/concurrency rows x direct, gateway, stock proxy
    assert all(row["errors"] == "0" and float(row["calls/s"]) > 0 for row in throughput), throughput
    requests = {(r["era"], r["path"]): float(r["requests/call"]) for r in table(text, "## Backend HTTP")}
    assert requests[("2026-07-28", "gateway")] == 1.0 and requests[("2025-11-25", "gateway")] == 1.0


def table(text: str, heading: str) -> list[dict[str, str]]:
    """The rows of the Markdown table under the heading that starts with `heading`."""
    lines = text[text.index(heading) :].splitlines()
    end = next((i for i, line in enumerate(lines[1:]) if line.startswith("## ")), len(lines))
    rows = [line for line in lines[1 : end + 1] if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in rows]
    header, body = cells[0], cells[2:]
    return [dict(zip(header, row, strict=True)) for row in body]
