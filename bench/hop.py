"""The hop itself: one FastMCP backend over streamable HTTP, called directly and through each proxy.

Sections: sequential latency (both clients, both eras), backend requests per call, throughput
under 1/8/32 clients (with the proxy's CPU per call and peak RSS), a 50 ms tool under 32 clients,
and what clients' own backend sessions cost. Every ratio is against the direct call of the same
section, measured alternating with it (latency) or next to it (throughput).
"""

from __future__ import annotations

from contextlib import ExitStack

import anyio

from bench import measure
from bench.contextforge import contextforge
from bench.lean import LEGACY, MODERN
from bench.plan import Plan, run
from bench.topology import Server, backend, backend_requests, gateway, http_config, stock_proxy

ERAS = (LEGACY, MODERN)


def measure_all(plan: Plan) -> None:
    """Every section of the hop, against one backend, one gateway and the baselines."""
    with ExitStack() as stack:
        sse = stack.enter_context(backend(plan.work))
        ours = stack.enter_context(gateway(plan.work, http_config({"bench": sse.url})))
        idle_rss = ours.rss_mb()
        stock = stack.enter_context(stock_proxy(plan.work, {"bench": sse.url}))
        paths = {"direct": sse, "gateway": ours, "stock proxy": stock}
        if plan.contextforge is not None:
            paths["contextforge"] = stack.enter_context(contextforge(plan.work, sse.url, plan.contextforge))
        plan.baselines = [label for label in paths if label not in ("direct", "gateway")]
        tools = {label: run(measure.tool_named, s.url, "echo") for label, s in paths.items()}
        with plan.timed("latency"):
            latency(plan, paths, tools)
        with plan.timed("requests per call"):
            requests_per_call(plan, sse, paths, tools)
        with plan.timed("throughput"):
            peak = throughput(plan, paths, tools)
        plan.out.figure("rss.growth.32.gateway", peak - idle_rss)
        with plan.timed("slow tool"):
            slow_tool(plan, sse, ours)
        with plan.timed("client sessions"):
            client_sessions(plan, sse)


def latency(plan: Plan, paths: dict[str, Server], tools: dict[str, str]) -> None:
    section = plan.out.section(
        "Sequential latency (echo tool, one client, ms)",
        ["client", "era", "path", "p50", "p99", "p50 ratio"],
    )
    pick = {k: (paths[k].url, tools[k]) for k in paths}
    for kind in ("lean", "sdk"):
        for era in ERAS:
            calls = plan.calls if kind == "lean" else plan.calls // 2
            pair = {k: pick[k] for k in plan.order(["direct", "gateway"])}
            fast = run(measure.latency, pair, kind=kind, era=era, calls=calls)
            base = fast["direct"]["p50"]
            for label in ("direct", "gateway"):
                row = fast[label]
                section.row(kind, era, label, row["p50"], row["p99"], row["p50"] / base)
            for baseline in plan.baselines:  # each against a direct run of its own batches
                pair = {k: pick[k] for k in ("direct", baseline)}
                slow = run(measure.latency, pair, kind=kind, era=era, calls=max(20, calls // 5))
                row = slow[baseline]
                section.row(kind, era, baseline, row["p50"], row["p99"], row["p50"] / slow["direct"]["p50"])
            plan.out.figure(f"latency.{kind}.{era}.ratio", fast["gateway"]["p50"] / base)
            plan.out.figure(f"latency.{kind}.{era}.added_ms", fast["gateway"]["p50"] - base)


def requests_per_call(plan: Plan, sse: Server, paths: dict[str, Server], tools: dict[str, str]) -> None:
    section = plan.out.section("Backend HTTP requests per proxied call", ["era", "path", "requests/call"])
    calls = 20
    for era in ERAS:
        for label in ("direct", "gateway", *plan.baselines):

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
            plan.out.figure(f"requests.{era}.{label}", per_call)


def throughput(plan: Plan, paths: dict[str, Server], tools: dict[str, str]) -> float:
    """Calls/s per path and plan; the gateway's peak RSS under 32 clients is returned."""
    section = plan.out.section(
        f"Throughput (echo tool, calls/s for {plan.seconds:g} s; CPU is the proxy process's, per call)",
        ["client", "era", "clients", "path", "calls/s", "errors", "ratio", "CPU ms/call", "RSS MB"],
    )
    schedule: list[tuple[str, str, int]] = [("lean", MODERN, n) for n in (1, 8, 32)]
    schedule += [("lean", LEGACY, 32), ("sdk", MODERN, 32), ("sdk", LEGACY, 32)]
    peak = 0.0
    for kind, era, clients in schedule:
        results: dict[str, measure.Throughput] = {}
        for label in plan.order(["direct", "gateway", *plan.baselines]):
            results[label] = run(
                measure.throughput, paths[label].url, tools[label], {"text": "hello"}, kind=kind, era=era,
                clients=clients, seconds=plan.seconds, watch=None if label == "direct" else paths[label],
            )  # fmt: skip
        base = results["direct"].per_second
        for label in (k for k in paths if k in results):
            result = results[label]
            ratio = result.per_second / base
            section.row(
                kind, era, clients, label, result.per_second, result.errors, ratio,
                result.cpu_ms_per_call, result.rss_mb,
            )  # fmt: skip
            plan.out.figure(f"throughput.{kind}.{era}.{clients}.{label}.ratio", ratio)
            if result.cpu_ms_per_call is not None:
                plan.out.figure(f"cpu.{kind}.{era}.{clients}.{label}", result.cpu_ms_per_call)
        gateway_rss = results["gateway"].rss_mb
        if clients == 32 and gateway_rss is not None:
            peak = max(peak, gateway_rss)
    return peak


def slow_tool(plan: Plan, sse: Server, ours: Server) -> None:
    section = plan.out.section(
        "A tool that sleeps 50 ms, 32 lean clients (2026-07-28)", ["path", "calls/s", "errors", "ratio"]
    )
    servers = {"direct": (sse, "sleep_ms"), "gateway": (ours, "bench_sleep_ms")}
    results: dict[str, measure.Throughput] = {}
    for label in plan.order(list(servers)):
        server, tool = servers[label]
        results[label] = run(
            measure.throughput, server.url, tool, {"ms": 50}, kind="lean", era=MODERN, clients=32,
            seconds=plan.seconds,
        )  # fmt: skip
    base = results["direct"].per_second
    for label in servers:
        result = results[label]
        section.row(label, result.per_second, result.errors, result.per_second / base)
        plan.out.figure(f"slow.{label}.ratio", result.per_second / base)
        plan.out.figure(f"slow.{label}.errors", float(result.errors))


def client_sessions(plan: Plan, sse: Server) -> None:
    """What the default costs: a handshake-era client's own backend session (its first call
    opens it) against a backend declared stateless (`session: pooled`)."""
    section = plan.out.section(
        "Clients' own backend sessions (the default) vs a stateless pool, 16 lean clients (2025-11-25)",
        ["config", "first call p50 ms", "second call p50 ms", "backend sessions", "RSS MB per client"],
    )
    clients = 4 if plan.quick else 16
    configs = {
        "per_client (default)": http_config({"bench": sse.url}),
        "pooled": http_config({"bench": sse.url}) + "    session: pooled\n",
    }
    for label, config in configs.items():
        with gateway(plan.work, config, label="sessions") as server:
            result = run(measure.client_sessions, server, "bench_echo", clients=clients)
        section.row(label, result["first"], result["second"], result["sessions"], result["rss_per_client"])
        plan.out.figure(f"sessions.{label.split()[0]}.first_ms", result["first"])
        plan.out.figure(f"sessions.{label.split()[0]}.rss_per_client_mb", result["rss_per_client"])
