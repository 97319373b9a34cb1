"""The benchmark suite: our gateway against a direct call and against FastMCP's stock proxy.

    make bench                      # python -m bench.suite: 3 full runs, writes bench/results/
    python -m bench.suite --quick   # seconds: proves the suite works (CI), figures meaningless
    python -m bench.suite --runs 3 --mcp-proxy /path/to/mcp-proxy --output bench/results/latest.md

Every figure is measured for each path in the same run, alternating where it matters, with the
same client and the same backend, and reported as medians and as ratios against the direct
call. The machines are shared and noisy: only ratios from one run mean anything. With `--runs N`
the whole measurement is repeated N times (alternating the order of the paths between runs);
the tables show the median of each cell and the targets (issue 15, `bench.targets`) the median
and the spread of each figure. A py-spy profile of the gateway under 32 clients closes the
report (`bench.profile`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import hop, report, setups
from bench.plan import Plan
from bench.profile import profile_gateway
from bench.topology import mcp_proxy_version


def measure(
    work: Path, *, runs: int, quick: bool, contextforge: str | None, mcp_proxy: str | None, profile: bool
) -> report.Report:
    """Run the whole plan `runs` times and merge the reports; then profile the gateway."""
    started = time.perf_counter()
    reports: list[report.Report] = []
    for index in range(runs):
        plan = Plan(work, quick, index=index, contextforge=contextforge, mcp_proxy=mcp_proxy)
        hop.measure_all(plan)
        setups.measure_all(plan)
        reports.append(plan.out)
    merged = report.merge(reports)
    if profile:
        seconds = 1.0 if quick else 8.0
        merged.appendix = profile_gateway(work, seconds=seconds)
    minutes = (time.perf_counter() - started) / 60
    seconds_each = Plan(work, quick).seconds
    baselines = ["stock proxy", *(["ContextForge"] if contextforge else [])]
    baselines += [mcp_proxy_version(mcp_proxy) if mcp_proxy else "no mcp-proxy (--mcp-proxy)"]
    merged.notes = [
        f"{runs} run{'s' if runs != 1 else ''} of the whole suite ({minutes:.1f} min in all); "
        f"throughput figures {seconds_each:g} s each; baselines: {', '.join(baselines)}",
    ]
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seconds, to prove the suite runs (CI)")
    parser.add_argument("--runs", type=int, help="repeat the whole measurement (default 3; 1 with --quick)")
    parser.add_argument("--output", type=Path, help="write the Markdown table here")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile of the gateway")
    parser.add_argument(
        "--contextforge",
        default=os.environ.get("BENCH_CONTEXTFORGE_PYTHON"),
        help="a Python >= 3.12 with mcp-contextforge-gateway installed: measure it too "
        "(env BENCH_CONTEXTFORGE_PYTHON)",
    )
    parser.add_argument(
        "--mcp-proxy",
        default=os.environ.get("BENCH_MCP_PROXY"),
        help="the mcp-proxy command (PyPI, in a venv of its own): compare the stdio link with it "
        "(env BENCH_MCP_PROXY)",
    )
    args = parser.parse_args(argv)
    runs: int = args.runs or (1 if args.quick else 3)
    if runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(
            Path(tmp), runs=runs, quick=args.quick, contextforge=args.contextforge,
            mcp_proxy=args.mcp_proxy, profile=not args.no_profile,
        )  # fmt: skip
    text = result.markdown(quick=args.quick)
    print(text)
    output: Path | None = args.output
    if output is None and not args.quick:
        output = Path(__file__).parent / "results" / "latest.md"
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
