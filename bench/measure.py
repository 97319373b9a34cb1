"""Measurements: sequential latency (alternating paths), throughput under concurrency, tools/list."""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from bench.lean import LEGACY, MODERN, TLS, LeanClient
from bench.topology import Server

CallFn = Callable[[str, dict[str, Any]], Awaitable[None]]
HEADERS: dict[str, dict[str, str]] = {}
"""Extra request headers per server URL (ContextForge wants a bearer token)."""
ListFn = Callable[[], Awaitable[list[str]]]


@dataclass
class Session:
    """One open client: call a tool, list tools."""

    call: CallFn
    list_tools: ListFn


@contextmanager
def client_gc_paused() -> Iterator[None]:
    """The measuring process's garbage collector off while it times sequential calls, as `timeit`
    does: a collection in the client (parsing 78 kB lists makes many objects) is not the server's
    latency, and showed as 80 ms stalls every quarter second in the 10-backend list's p99."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@asynccontextmanager
async def open_client(kind: str, url: str, era: str) -> AsyncIterator[Session]:
    """A `lean` (raw JSON-RPC) or `sdk` (fastmcp Client) client of `url` in `era`."""
    headers = HEADERS.get(url, {})
    if kind == "lean":
        async with LeanClient(url, era, headers) as lean:

            async def lean_call(name: str, arguments: dict[str, Any]) -> None:
                await lean.call_tool(name, arguments)

            async def lean_list() -> list[str]:
                return [t["name"] for t in (await lean.request("tools/list"))["tools"]]

            yield Session(lean_call, lean_list)
        return
    transport = StreamableHttpTransport(url, headers=headers, verify=TLS)
    async with Client(transport, mode="legacy" if era == LEGACY else era, timeout=60) as sdk:

        async def sdk_call(name: str, arguments: dict[str, Any]) -> None:
            result = await sdk.call_tool_mcp(name, arguments)
            if result.is_error:
                raise RuntimeError(f"{name} failed: {result.content}")

        async def sdk_list() -> list[str]:
            return [t.name for t in await sdk.list_tools()]

        yield Session(sdk_call, sdk_list)


async def tool_named(url: str, suffix: str) -> str:
    """The name under which a server lists the tool whose own name is `suffix`."""
    async with open_client("lean", url, "2026-07-28") as client:
        names = await client.list_tools()
    for name in names:
        if name == suffix or name.endswith((f"_{suffix}", f"-{suffix}")):
            return name
    raise LookupError(f"{url} lists no tool named like {suffix!r}: {names[:5]}")


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "n": float(len(ordered)),
    }


async def latency(
    paths: dict[str, tuple[str, str]], *, kind: str, era: str, calls: int, batch: int = 20
) -> dict[str, dict[str, float]]:
    """Sequential calls on each path (label → (url, tool)), alternating batches; ms per call."""
    samples: dict[str, list[float]] = {label: [] for label in paths}
    async with AsyncExitStack() as stack:
        clients = {}
        for label, (url, _) in paths.items():
            clients[label] = await stack.enter_async_context(open_client(kind, url, era))
        for label, client in clients.items():
            for _ in range(5):
                await client.call(paths[label][1], {"text": "warm"})
        with client_gc_paused():
            for _ in range(max(1, calls // batch)):
                for label, client in clients.items():
                    tool = paths[label][1]
                    for _ in range(batch):
                        start = time.perf_counter()
                        await client.call(tool, {"text": "hello"})
                        samples[label].append((time.perf_counter() - start) * 1000)
    return {label: summary(values) for label, values in samples.items()}


@dataclass
class Throughput:
    calls: int
    errors: int
    seconds: float
    cpu_ms_per_call: float | None
    rss_mb: float | None

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds


async def throughput(
    url: str,
    tool: str,
    arguments: dict[str, Any],
    *,
    kind: str,
    era: str,
    clients: int,
    seconds: float,
    watch: Server | None = None,
    on_start: Callable[[], None] | None = None,
) -> Throughput:
    """`clients` concurrent clients calling for `seconds`; CPU and peak RSS of `watch` meanwhile.

    Each client is opened and warmed by its own task (all at once: SDK clients must close in the
    task that opened them); the clock starts when all are warm (`on_start` runs then) and stops
    when the last one's last call is answered, before any closes."""
    tally = {"done": 0, "errors": 0, "ready": 0, "finished": 0}
    clock: dict[str, float] = {}
    all_ready, go, all_done = anyio.Event(), anyio.Event(), anyio.Event()
    peak_rss: float | None = None

    async def worker() -> None:
        async with open_client(kind, url, era) as session:
            await session.call(tool, arguments)
            tally["ready"] += 1
            if tally["ready"] == clients:
                all_ready.set()
            await go.wait()
            while time.perf_counter() < clock["deadline"]:
                try:
                    await session.call(tool, arguments)
                    tally["done"] += 1
                except Exception:
                    tally["errors"] += 1
            tally["finished"] += 1
            if tally["finished"] == clients:
                clock["end"] = time.perf_counter()
                clock["cpu"] = watch.cpu_seconds() if watch else 0.0
                all_done.set()
            await all_done.wait()

    async def sample_rss(server: Server) -> None:
        nonlocal peak_rss
        while not all_done.is_set():
            peak_rss = max(peak_rss or 0.0, server.rss_mb())
            await anyio.sleep(0.1)

    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(worker)
        await all_ready.wait()
        if on_start is not None:
            on_start()
        cpu_before = watch.cpu_seconds() if watch else 0.0
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds
        if watch is not None:
            tg.start_soon(sample_rss, watch)
        go.set()
    cpu = clock["cpu"] - cpu_before if watch else None
    done = tally["done"]
    per_call = cpu * 1000 / done if cpu is not None and done else None
    return Throughput(done, tally["errors"], clock["end"] - clock["start"], per_call, peak_rss)


async def list_latency(url: str, *, calls: int) -> dict[str, float]:
    """`tools/list` p50/p99 in ms (lean client, 2026-07-28), how many tools came back, and how long
    the standard library's json takes to parse that answer (`json_parse`, ms, median of 20)."""
    values: list[float] = []
    count = 0
    async with LeanClient(url, MODERN, HEADERS.get(url)) as client:
        await client.request("tools/list")
        with client_gc_paused():
            for _ in range(calls):
                start = time.perf_counter()
                count = len((await client.request("tools/list"))["tools"])
                values.append((time.perf_counter() - start) * 1000)
        body = client.last_body
    parses: list[float] = []
    for _ in range(20):
        start = time.perf_counter()
        json.loads(body if body.lstrip().startswith(b"{") else body.split(b"data:", 1)[-1])
        parses.append((time.perf_counter() - start) * 1000)
    return {**summary(values), "tools": float(count), "json_parse": statistics.median(parses)}


async def client_sessions(server: Server, tool: str, *, clients: int) -> dict[str, float]:
    """Open `clients` handshake-era lean clients at once and keep them open: each one's first and
    second call (median ms), the backend sessions the gateway holds, and its RSS growth per client."""
    before = server.rss_mb()
    firsts: list[float] = []
    seconds: list[float] = []
    async with AsyncExitStack() as stack:
        opened = [await stack.enter_async_context(LeanClient(server.url, LEGACY)) for _ in range(clients)]
        for client in opened:
            started = time.perf_counter()
            await client.call_tool(tool, {"text": "first"})
            firsts.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await client.call_tool(tool, {"text": "second"})
            seconds.append((time.perf_counter() - started) * 1000)
        readiness = await opened[0]._http.get(server.url.rsplit("/", 1)[0] + "/readyz")
        sessions = sum(b.get("sessions", 0) for b in readiness.json()["backends"].values())
        grown = server.rss_mb() - before
    return {
        "first": statistics.median(firsts),
        "second": statistics.median(seconds),
        "sessions": float(sessions),
        "rss_per_client": grown / clients,
    }
