"""The benchmark suite: our gateway against a direct call and against FastMCP's stock proxy.

    make bench                      # python -m bench.suite: the full run, writes bench/results/
    python -m bench.suite --quick   # seconds: proves the suite works (CI), figures meaningless

Every figure is measured for each path in the same run, alternating where it matters, with the
same client and the same backend, and reported as medians and as ratios against the direct
call. The machines are shared and noisy: only ratios from one run mean anything.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio

from bench import measure, report
from bench.contextforge import contextforge
from bench.lean import LEGACY, MODERN
from bench.topology import (
    Server,
    backend,
    backend_requests,
    gateway,
    http_config,
    mcp_proxy,
    stdio_config,
    stock_proxy,
)

ERAS = (LEGACY, MODERN)


def run(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Run one async measurement to completion."""
    return anyio.run(functools.partial(fn, *args, **kwargs))


class Suite:
    def __init__(
        self, work: Path, *, quick: bool, contextforge: str | None = None, mcp_proxy: str | None = None
    ) -> None:
        self.work = work
        self.quick = quick
        self.contextforge = contextforge
        """A Python (>= 3.12) with `mcp-contextforge-gateway` installed, to measure it too."""
        self.baselines: list[str] = []
        self.mcp_proxy = mcp_proxy
        """The `mcp-proxy` command, to compare the stdio link with that 1:1 bridge."""
        self.calls = 20 if quick else 300
        self.seconds = 0.4 if quick else 3.0
        self.out = report.Report()

    def run(self) -> report.Report:
        with ExitStack() as stack:
            sse = stack.enter_context(backend(self.work))
            ours = stack.enter_context(gateway(self.work, http_config({"bench": sse.url})))
            stock = stack.enter_context(stock_proxy(self.work, {"bench": sse.url}))
            paths = {"direct": sse, "gateway": ours, "stock proxy": stock}
            if self.contextforge is not None:
                paths["contextforge"] = stack.enter_context(
                    contextforge(self.work, sse.url, self.contextforge)
                )
            self.baselines = [label for label in paths if label not in ("direct", "gateway")]
            tools = {label: run(measure.tool_named, s.url, "echo") for label, s in paths.items()}
            self.latency(paths, tools)
            self.requests_per_call(sse, paths, tools)
            self.throughput(paths, tools)
            self.slow_tool(sse, ours)
            self.client_sessions(sse)
        self.listing()
        self.link_kinds()
        if self.mcp_proxy is not None:
            self.stdio_bridge(self.mcp_proxy)
        self.json_backends()
        return self.out

    # -- sections ---------------------------------------------------------------------------

    def latency(self, paths: dict[str, Server], tools: dict[str, str]) -> None:
        section = self.out.section(
            "Sequential latency (echo tool, one client, ms)",
            ["client", "era", "path", "p50", "p99", "p50 ratio"],
        )
        for kind in ("lean", "sdk"):
            for era in ERAS:
                calls = self.calls if kind == "lean" else self.calls // 2
                stock_calls = max(20, calls // 5)
                pick = {k: (paths[k].url, tools[k]) for k in paths}
                fast = run(
                    measure.latency,
                    {k: pick[k] for k in ("direct", "gateway")},
                    kind=kind,
                    era=era,
                    calls=calls,
                )
                base = fast["direct"]["p50"]
                for label, row in (("direct", fast["direct"]), ("gateway", fast["gateway"])):
                    section.row(kind, era, label, row["p50"], row["p99"], row["p50"] / base)
                for baseline in self.baselines:  # each against a direct run of its own batches
                    slow = run(
                        measure.latency,
                        {k: pick[k] for k in ("direct", baseline)},
                        kind=kind,
                        era=era,
                        calls=stock_calls,
                    )
                    row = slow[baseline]
                    section.row(
                        kind, era, baseline, row["p50"], row["p99"], row["p50"] / slow["direct"]["p50"]
                    )
                self.out.figure(f"latency.{kind}.{era}.ratio", fast["gateway"]["p50"] / base)
                self.out.figure(f"latency.{kind}.{era}.added_ms", fast["gateway"]["p50"] - base)

    def requests_per_call(self, sse: Server, paths: dict[str, Server], tools: dict[str, str]) -> None:
        section = self.out.section("Backend HTTP requests per proxied call", ["era", "path", "requests/call"])
        calls = 20
        for era in ERAS:
            for label in ("direct", "gateway", *self.baselines):

                async def one_path(label: str = label, era: str = era) -> None:
                    async with measure.open_client("lean", paths[label].url, era) as client:
                        await client.call(tools[label], {"text": "warm"})
                        # a client's own backend session finishes opening (its GET stream) after
                        # the first call: count from when it is open
                        await anyio.sleep(0.3)
                        backend_requests(sse, reset=True)
                        for _ in range(calls):
                            await client.call(tools[label], {"text": "x"})

                anyio.run(one_path)
                per_call = backend_requests(sse) / calls
                section.row(era, label, per_call)
                self.out.figure(f"requests.{era}.{label}", per_call)

    def throughput(self, paths: dict[str, Server], tools: dict[str, str]) -> None:
        section = self.out.section(
            f"Throughput (echo tool, calls/s for {self.seconds:g} s; CPU is the proxy process's, per call)",
            ["client", "era", "clients", "path", "calls/s", "errors", "ratio", "CPU ms/call", "RSS MB"],
        )
        plan: list[tuple[str, str, int]] = [("lean", MODERN, n) for n in (1, 8, 32)]
        plan += [("lean", LEGACY, 32), ("sdk", MODERN, 32), ("sdk", LEGACY, 32)]
        for kind, era, clients in plan:
            base: float | None = None
            for label in ("direct", "gateway", *self.baselines):
                watch = None if label == "direct" else paths[label]
                result = run(
                    measure.throughput,
                    paths[label].url,
                    tools[label],
                    {"text": "hello"},
                    kind=kind,
                    era=era,
                    clients=clients,
                    seconds=self.seconds,
                    watch=watch,
                )
                base = base or result.per_second
                ratio = result.per_second / base
                section.row(
                    kind, era, clients, label, result.per_second, result.errors, ratio,
                    result.cpu_ms_per_call, result.rss_mb,
                )  # fmt: skip
                self.out.figure(f"throughput.{kind}.{era}.{clients}.{label}.ratio", ratio)
                if result.cpu_ms_per_call is not None:
                    self.out.figure(f"cpu.{kind}.{era}.{clients}.{label}", result.cpu_ms_per_call)

    def slow_tool(self, sse: Server, ours: Server) -> None:
        section = self.out.section(
            "A tool that sleeps 50 ms, 32 lean clients (2026-07-28)", ["path", "calls/s", "errors", "ratio"]
        )
        base: float | None = None
        for label, server, tool in (("direct", sse, "sleep_ms"), ("gateway", ours, "bench_sleep_ms")):
            result = run(
                measure.throughput,
                server.url,
                tool,
                {"ms": 50},
                kind="lean",
                era=MODERN,
                clients=32,
                seconds=self.seconds,
            )
            base = base or result.per_second
            section.row(label, result.per_second, result.errors, result.per_second / base)
            self.out.figure(f"slow.{label}.ratio", result.per_second / base)

    def client_sessions(self, sse: Server) -> None:
        """What the default costs: a handshake-era client's own backend session (its first call
        opens it) against a backend declared stateless (`session: pooled`)."""
        section = self.out.section(
            "Clients' own backend sessions (the default) vs a stateless pool, 16 lean clients (2025-11-25)",
            ["config", "first call p50 ms", "second call p50 ms", "backend sessions", "RSS MB per client"],
        )
        clients = 4 if self.quick else 16
        configs = {
            "per_client (default)": http_config({"bench": sse.url}),
            "pooled": http_config({"bench": sse.url}) + "    session: pooled\n",
        }
        for label, config in configs.items():
            with gateway(self.work, config, label="sessions") as server:
                result = run(measure.client_sessions, server, "bench_echo", clients=clients)
            section.row(
                label, result["first"], result["second"], result["sessions"], result["rss_per_client"]
            )
            self.out.figure(f"sessions.{label.split()[0]}.first_ms", result["first"])
            self.out.figure(f"sessions.{label.split()[0]}.rss_per_client_mb", result["rss_per_client"])

    def listing(self) -> None:
        section = self.out.section(
            "tools/list, N backends × 20 tools (lean client, ms)",
            ["backends", "path", "tools", "p50", "p99", "idle RSS MB"],
        )
        counts = (1, 3) if self.quick else (1, 3, 10)
        with backend(self.work) as sse:
            for count in counts:
                mounts = {f"b{i}": sse.url for i in range(count)}
                starts = {
                    "gateway": functools.partial(
                        gateway, self.work, http_config(mounts), label=f"list{count}"
                    ),
                    "stock proxy": functools.partial(stock_proxy, self.work, mounts),
                }
                for label, start in starts.items():
                    with start() as server:
                        calls = 5 if label == "stock proxy" or self.quick else 100
                        row = run(measure.list_latency, server.url, calls=calls)
                        rss = server.rss_mb()
                        section.row(count, label, int(row["tools"]), row["p50"], row["p99"], rss)
                        self.out.figure(f"list.{count}.{label}.p50", row["p50"])
                        self.out.figure(f"rss.idle.{count}.{label}", rss)

    def link_kinds(self) -> None:
        section = self.out.section(
            "Per link kind (echo tool, lean client, 2026-07-28, ms)", ["link", "p50", "p99", "vs direct HTTP"]
        )
        with backend(self.work) as sse:
            configs: dict[str, str] = {
                "in-process": "backends:\n  bench:\n    module: bench.backend:create_server\n",
                "stdio": stdio_config(),
                "streamable HTTP": http_config({"bench": sse.url}),
            }
            for link, config in configs.items():
                with gateway(self.work, config, label="link") as server:
                    rows = run(
                        measure.latency,
                        {"direct": (sse.url, "echo"), "gateway": (server.url, "bench_echo")},
                        kind="lean",
                        era=MODERN,
                        calls=self.calls,
                    )
                ratio = rows["gateway"]["p50"] / rows["direct"]["p50"]
                section.row(link, rows["gateway"]["p50"], rows["gateway"]["p99"], ratio)
                self.out.figure(f"link.{link}.ratio", ratio)

    def stdio_bridge(self, binary: str) -> None:
        section = self.out.section(
            "A stdio backend over HTTP: the gateway's stdio link against mcp-proxy (lean, 2025-11-25)",
            ["path", "p50 ms", "p99 ms", "calls/s, 32 clients", "errors", "CPU ms/call", "ratio calls/s"],
        )
        with (
            gateway(self.work, stdio_config(), label="stdio") as ours,
            mcp_proxy(self.work, binary) as bridge,
        ):
            paths = {"gateway": (ours.url, "bench_echo"), "mcp-proxy": (bridge.url, "echo")}
            rows = run(measure.latency, paths, kind="lean", era=LEGACY, calls=self.calls)
            base: float | None = None
            for label, server in (("mcp-proxy", bridge), ("gateway", ours)):
                result = run(
                    measure.throughput, server.url, paths[label][1], {"text": "hi"}, kind="lean", era=LEGACY,
                    clients=32, seconds=self.seconds, watch=server,
                )  # fmt: skip
                base = base or result.per_second
                row = rows[label]
                ratio = result.per_second / base
                section.row(
                    label,
                    row["p50"],
                    row["p99"],
                    result.per_second,
                    result.errors,
                    result.cpu_ms_per_call,
                    ratio,
                )
                self.out.figure(f"stdio.{label}.per_second", result.per_second)
            self.out.figure("stdio.gateway.ratio", result.per_second / base)

    def json_backends(self) -> None:
        section = self.out.section(
            "JSON-mode backend (application/json answers), 32 lean clients, 2026-07-28",
            ["path", "calls/s", "errors", "ratio", "CPU ms/call"],
        )
        with (
            backend(self.work, json_response=True) as js,
            gateway(self.work, http_config({"bench": js.url})) as ours,
        ):
            base: float | None = None
            for label, server, tool in (("direct", js, "echo"), ("gateway", ours, "bench_echo")):
                watch = ours if label == "gateway" else None
                result = run(
                    measure.throughput, server.url, tool, {"text": "hi"}, kind="lean", era=MODERN, clients=32,
                    seconds=self.seconds, watch=watch,
                )  # fmt: skip
                base = base or result.per_second
                ratio = result.per_second / base
                section.row(label, result.per_second, result.errors, ratio, result.cpu_ms_per_call)
                self.out.figure(f"json.{label}.per_second", result.per_second)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seconds, to prove the suite runs (CI)")
    parser.add_argument("--output", type=Path, help="write the Markdown table here")
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
    with tempfile.TemporaryDirectory() as tmp:
        suite = Suite(Path(tmp), quick=args.quick, contextforge=args.contextforge, mcp_proxy=args.mcp_proxy)
        result = suite.run()
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
