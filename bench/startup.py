"""Start-up figures (issue 11): how long a one-off `gateway call` takes, from a cold process.

    python -m bench.startup [--runs 9] [--output bench/results/startup.md]

`gateway call analytics_analyze_dataset` on the shipped gateway.yaml (it starts the analytics
backend over stdio, lists it and calls it) is timed from the command's start to its exit, `runs`
times. The baseline, timed in the same run and alternating with it, is the least any such call
can cost: one interpreter importing FastMCP's server (the gateway and the backend each need one;
they start side by side). The target is an absolute 2 s; the ratio tells a slow machine from a
slow gateway.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = [str(Path(sys.executable).parent / "gateway")]
CALL = [*GATEWAY, "call", "analytics_analyze_dataset", "--args", '{"values": [1, 2, 3]}']
BASELINE = [sys.executable, "-c", "import fastmcp.server.server"]
TARGET_S = 2.0


def timed(command: list[str]) -> float:
    """Seconds from start to exit; the command must succeed."""
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int) -> tuple[list[float], list[float]]:
    """(call times, baseline times), alternating; one untimed call first (caches, bytecode)."""
    timed(CALL)
    calls: list[float] = []
    baselines: list[float] = []
    for _ in range(runs):
        calls.append(timed(CALL))
        baselines.append(timed(BASELINE))
    return calls, baselines


def markdown(calls: list[float], baselines: list[float]) -> str:
    call, base = statistics.median(calls), statistics.median(baselines)
    met = "**yes**" if call < TARGET_S else "no"
    rows = [
        "# Start-up (issue 11)",
        "",
        f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {len(calls)} runs, alternating",
        "",
        "| figure | median | min – max | target | met |",
        "| --- | --- | --- | --- | --- |",
        f"| `gateway call analytics_analyze_dataset` | {call:.2f} s | {min(calls):.2f} – {max(calls):.2f} s "
        f"| < {TARGET_S:g} s | {met} |",
        f"| baseline: `python -c 'import fastmcp.server.server'` | {base:.2f} s "
        f"| {min(baselines):.2f} – {max(baselines):.2f} s | – | – |",
        f"| call ÷ baseline | {call / base:.2f}× | – | – | – |",
        "",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "startup.md")
    args = parser.parse_args(argv)
    text = markdown(*measure(args.runs))
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
