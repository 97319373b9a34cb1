"""Other setups of the same hop: `tools/list` over N backends, each link kind, a stdio backend
against `mcp-proxy`, and a backend that answers in plain JSON.

Each starts the processes it needs and measures the gateway next to its own reference (the
stock proxy, a direct HTTP call, `mcp-proxy`, the JSON backend called directly).
"""

from __future__ import annotations

import functools

from bench import measure
from bench.lean import LEGACY, MODERN
from bench.plan import Plan, run
from bench.topology import backend, gateway, http_config, mcp_proxy, stdio_config, stock_proxy


def measure_all(plan: Plan) -> None:
    with plan.timed("tools/list"):
        listing(plan)
    with plan.timed("link kinds"):
        link_kinds(plan)
    if plan.mcp_proxy is not None:
        with plan.timed("stdio vs mcp-proxy"):
            stdio_bridge(plan, plan.mcp_proxy)
    with plan.timed("JSON-mode backend"):
        json_backends(plan)


def listing(plan: Plan) -> None:
    section = plan.out.section(
        "tools/list, N backends × 20 tools (lean client, ms; stdlib json parse: what parsing the "
        "answer with the standard library's json would add)",
        ["backends", "path", "tools", "p50", "p99", "idle RSS MB", "stdlib json parse"],
    )
    counts = (1, 3) if plan.quick else (1, 3, 10)
    p50: dict[int, float] = {}
    with backend(plan.work) as sse:
        for count in counts:
            mounts = {f"b{i}": sse.url for i in range(count)}
            starts = {
                "gateway": functools.partial(gateway, plan.work, http_config(mounts), label=f"list{count}"),
                "stock proxy": functools.partial(stock_proxy, plan.work, mounts),
            }
            for label, start in starts.items():
                with start() as server:
                    calls = 5 if label == "stock proxy" or plan.quick else 100
                    row = run(measure.list_latency, server.url, calls=calls)
                    rss = server.rss_mb()
                section.row(count, label, int(row["tools"]), row["p50"], row["p99"], rss, row["json_parse"])
                plan.out.figure(f"list.{count}.{label}.p50", row["p50"])
                plan.out.figure(f"rss.idle.{count}.{label}", rss)
            p50[count] = plan.out.figures[f"list.{count}.gateway.p50"][-1]
    if 10 in p50:
        plan.out.figure("list.flatness", p50[10] / p50[1])


def link_kinds(plan: Plan) -> None:
    section = plan.out.section(
        "Per link kind (echo tool, lean client, 2026-07-28, ms)", ["link", "p50", "p99", "vs direct HTTP"]
    )
    with backend(plan.work) as sse:
        configs: dict[str, str] = {
            "in-process": "backends:\n  bench:\n    module: bench.backend:create_server\n",
            "stdio": stdio_config(),
            "streamable HTTP": http_config({"bench": sse.url}),
        }
        for link, config in configs.items():
            with gateway(plan.work, config, label="link") as server:
                pair = {"direct": (sse.url, "echo"), "gateway": (server.url, "bench_echo")}
                rows = run(
                    measure.latency, {k: pair[k] for k in plan.order(list(pair))}, kind="lean", era=MODERN,
                    calls=plan.calls,
                )  # fmt: skip
            ratio = rows["gateway"]["p50"] / rows["direct"]["p50"]
            section.row(link, rows["gateway"]["p50"], rows["gateway"]["p99"], ratio)
            plan.out.figure(f"link.{link}.ratio", ratio)


def stdio_bridge(plan: Plan, binary: str) -> None:
    """The stdio benchmark backend behind the gateway's stdio link and behind `mcp-proxy`: latency
    alternating, then calls/s with 32 lean clients on each.

    `mcp-proxy` runs one process that every client shares; the gateway's counterpart is a stdio backend
    declared stateless (`session: pooled`: one process, up to 32 calls in flight on it). Its
    default for handshake-era clients, a process per client (at most 16 for stdio), is not a
    bridge: 32 clients would need 32 processes."""
    section = plan.out.section(
        "A stdio backend over HTTP: the gateway's stdio link (`session: pooled`) against mcp-proxy "
        "(lean, 2025-11-25, 32 clients)",
        ["path", "p50 ms", "p99 ms", "calls/s, 32 clients", "errors", "CPU ms/call", "ratio calls/s"],
    )
    with (
        gateway(plan.work, stdio_config() + "    session: pooled\n", label="stdio") as ours,
        mcp_proxy(plan.work, binary) as bridge,
    ):
        servers = {"mcp-proxy": (bridge, "echo"), "gateway": (ours, "bench_echo")}
        paths = {label: (servers[label][0].url, servers[label][1]) for label in plan.order(list(servers))}
        rows = run(measure.latency, paths, kind="lean", era=LEGACY, calls=plan.calls)
        results: dict[str, measure.Throughput] = {}
        for label in plan.order(list(servers)):
            server, tool = servers[label]
            results[label] = run(
                measure.throughput, server.url, tool, {"text": "hi"}, kind="lean", era=LEGACY,
                clients=32, seconds=plan.seconds, watch=server,
            )  # fmt: skip
    base = results["mcp-proxy"].per_second
    for label in servers:
        result, row = results[label], rows[label]
        ratio = result.per_second / base
        section.row(
            label, row["p50"], row["p99"], result.per_second, result.errors, result.cpu_ms_per_call, ratio
        )
        plan.out.figure(f"stdio.{label}.per_second", result.per_second)
        plan.out.figure(f"stdio.{label}.ratio", ratio)


def json_backends(plan: Plan) -> None:
    section = plan.out.section(
        "JSON-mode backend (application/json answers), 32 lean clients, 2026-07-28",
        ["path", "calls/s", "errors", "ratio", "CPU ms/call"],
    )
    with (
        backend(plan.work, json_response=True) as js,
        gateway(plan.work, http_config({"bench": js.url})) as ours,
    ):
        servers = {"direct": (js, "echo"), "gateway": (ours, "bench_echo")}
        results: dict[str, measure.Throughput] = {}
        for label in plan.order(list(servers)):
            server, tool = servers[label]
            results[label] = run(
                measure.throughput, server.url, tool, {"text": "hi"}, kind="lean", era=MODERN, clients=32,
                seconds=plan.seconds, watch=ours if label == "gateway" else None,
            )  # fmt: skip
    base = results["direct"].per_second
    for label in servers:
        result = results[label]
        section.row(label, result.per_second, result.errors, result.per_second / base, result.cpu_ms_per_call)
        plan.out.figure(f"json.{label}.per_second", result.per_second)
