"""Per-call latency through the gateway against a direct call to the same backend, same run.

    python -m bench.latency [--calls 300] [--quick]

Starts `bench.backend` over streamable HTTP and a gateway process in front of it, then makes
sequential `tools/call echo` calls with the same client library, alternating direct and
gateway batches so both paths see the same machine noise. Reports medians and p99 per era and
the gateway/direct ratio. The machines are shared: only ratios from one run mean anything.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from fastmcp import Client

from tests.conftest import PYTHON, free_port
from tests.e2e.support import gateway_command, running

BATCH = 20


async def _compare(direct: str, gateway: str, mode: str, calls: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"direct": [], "gateway": []}
    async with Client(direct, mode=mode) as d, Client(gateway, mode=mode) as g:
        pairs = {"direct": (d, "echo"), "gateway": (g, "bench_echo")}
        for client, tool in pairs.values():
            for _ in range(10):
                await client.call_tool_mcp(tool, {"text": "warm"})
        for _ in range(max(1, calls // BATCH)):
            for name, (client, tool) in pairs.items():
                for _ in range(BATCH):
                    start = time.perf_counter()
                    await client.call_tool_mcp(tool, {"text": "hello"})
                    samples[name].append((time.perf_counter() - start) * 1000)
    return {name: _summary(values) for name, values in samples.items()}


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "n": float(len(ordered)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a few calls, to prove the benchmark runs")
    args = parser.parse_args(argv)
    calls = 20 if args.quick else args.calls
    backend_port, gateway_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "gateway.yaml"
        config.write_text(f"backends:\n  bench:\n    url: http://127.0.0.1:{backend_port}/mcp\n")
        backend = [PYTHON, "-m", "bench.backend", "--transport", "http", "--port", str(backend_port)]
        with (
            running(backend, log=work / "backend.log", ready_url=f"http://127.0.0.1:{backend_port}/mcp"),
            running(
                gateway_command(config, "run", "--port", str(gateway_port), "--log-level", "warning"),
                log=work / "gateway.log",
                ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
                expect_status=200,
            ),
        ):
            direct = f"http://127.0.0.1:{backend_port}/mcp"
            through = f"http://127.0.0.1:{gateway_port}/mcp"
            print(f"{'era':<12} {'path':<8} {'p50 ms':>8} {'p99 ms':>8} {'ratio p50':>10}")
            for mode, label in (("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")):
                result = anyio.run(_compare, direct, through, mode, calls)
                base = result["direct"]["p50"]
                for path in ("direct", "gateway"):
                    row = result[path]
                    print(
                        f"{label:<12} {path:<8} {row['p50']:8.2f} {row['p99']:8.2f} {row['p50'] / base:9.2f}x"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
