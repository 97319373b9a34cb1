"""A fault-injecting MCP backend over HTTP, with per-tool counters (RELIABILITY.md §5).

    python -m tests.fakes.faulty --port 8400 [--mode legacy]

Control (plain HTTP beside `/mcp`):
    POST /_faults   {"target": "work" | "method:tools/list" | "*", "mode": ..., "times": 1,
                     "retry_after": 1, "delay_ms": 2000}
    GET  /_counters {"executions": {tool: n}, "received": {target: n}}
    POST /_reset

Modes, applied to the next `times` matching POSTs to /mcp:
- `503`: answer 503 (+ Retry-After) without running anything;
- `drop`: run the request, then break the connection instead of answering (it ran; outcome unknown);
- `drop_mid`: pass the first part of the answer (e.g. a progress event), then break the connection;
- `delay`: wait `delay_ms` before handling the request;
- `crash`: exit the process at once on receipt (nothing runs).

Chaos (for bench/chaos.py): `POST /_chaos {"delay_p": 0.1, "delay_ms": 2000, "p503": 0.1}` applies
random delays and 503s to every `tools/call`. With `FAULTY_LEDGER=path`, every execution of `work`
appends its tag to that file, so a count survives the process being killed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections import Counter
from typing import Any

import anyio
import uvicorn
from fastmcp import Context, FastMCP
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

mcp: FastMCP = FastMCP("faulty")
EXECUTIONS: Counter[str] = Counter()
RECEIVED: Counter[str] = Counter()
FAULTS: list[dict[str, Any]] = []


LEDGER = os.environ.get("FAULTY_LEDGER")
CHAOS: dict[str, float] = {}


@mcp.tool
def work(tag: str = "") -> str:
    """A tool with a side effect (counted; recorded in the ledger if there is one)."""
    EXECUTIONS["work"] += 1
    if LEDGER:
        with open(LEDGER, "a") as ledger:
            ledger.write(tag + "\n")
    return f"done {tag}"


@mcp.tool
def idem(tag: str = "") -> str:
    """The same, but the operator may declare it idempotent."""
    EXECUTIONS["idem"] += 1
    return f"done {tag}"


@mcp.tool(annotations={"readOnlyHint": True})
def ro(tag: str = "") -> str:
    """Claims to be read-only (a hint the gateway trusts only when told to)."""
    EXECUTIONS["ro"] += 1
    return f"read {tag}"


@mcp.tool
def fail() -> str:
    """Always an error result."""
    EXECUTIONS["fail"] += 1
    raise ValueError("failed on purpose")


@mcp.tool
async def slow(ms: int = 1000) -> str:
    """Sleeps `ms` milliseconds."""
    EXECUTIONS["slow"] += 1
    await anyio.sleep(ms / 1000)
    return "slept"


@mcp.tool
async def long(steps: int, ctx: Context) -> str:
    """Reports progress each step (50 ms apart)."""
    EXECUTIONS["long"] += 1
    for step in range(steps):
        await ctx.report_progress(step + 1, steps)
        await anyio.sleep(0.05)
    return "long done"


@mcp.tool
async def ask(ctx: Context) -> str:
    """Asks the client's model (sampling) before answering."""
    EXECUTIONS["ask"] += 1
    result = await ctx.session._request_outbound.send_raw_request(
        "sampling/createMessage",
        {"messages": [{"role": "user", "content": {"type": "text", "text": "go?"}}], "maxTokens": 5},
    )
    return f"told {result.get('content', {}).get('text')}"


def _target(body: bytes) -> list[str]:
    try:
        message = json.loads(body)
    except ValueError:
        return []
    if not isinstance(message, dict) or "method" not in message:
        return []
    method = str(message["method"])
    names = [f"method:{method}"]
    if method == "tools/call":
        names.append(str((message.get("params") or {}).get("name")))
    return names


def _chaos(targets: list[str]) -> dict[str, Any] | None:
    if not CHAOS or "method:tools/call" not in targets:
        return None
    draw = random.random()  # fault injection, not security
    if draw < CHAOS.get("p503", 0.0):
        return {"mode": "503", "retry_after": 0}
    if draw < CHAOS.get("p503", 0.0) + CHAOS.get("delay_p", 0.0):
        return {"mode": "delay", "delay_ms": CHAOS.get("delay_ms", 2000)}
    return None


def _take_fault(targets: list[str]) -> dict[str, Any] | None:
    for fault in FAULTS:
        if fault["target"] == "*" or fault["target"] in targets:
            fault["times"] -= 1
            if fault["times"] <= 0:
                FAULTS.remove(fault)
            return fault
    return None


class Faults:
    """ASGI middleware injecting the configured faults into /mcp POSTs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        targets = _target(body)
        for target in targets:
            RECEIVED[target] += 1
        fault = _take_fault(targets) or _chaos(targets)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        mode = fault["mode"] if fault else None
        if mode == "crash":
            os._exit(3)
        if mode == "503":
            headers = [(b"content-length", b"0")]
            if fault and fault.get("retry_after") is not None:
                headers.append((b"retry-after", str(fault["retry_after"]).encode()))
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if mode == "delay" and fault:
            await anyio.sleep(fault.get("delay_ms", 1000) / 1000)
        if mode in ("drop", "drop_mid"):
            passed = 0

            async def breaking_send(message: Any) -> None:
                # Headers go out; the answer does not (drop), or only its first part (drop_mid);
                # then the connection breaks, so the client cannot know whether the call ran.
                nonlocal passed
                if message["type"] == "http.response.start":
                    await send(message)
                    return
                if mode == "drop_mid" and passed < 1 and message.get("body"):
                    passed += 1
                    await send({**message, "more_body": True})
                    return
                if not message.get("more_body"):
                    raise ConnectionAbortedError("dropped on purpose")

            await self.app(scope, replay, breaking_send)
            return
        await self.app(scope, replay, send)


async def set_fault(request: Request) -> JSONResponse:
    fault = await request.json()
    fault.setdefault("times", 1)
    FAULTS.append(fault)
    return JSONResponse({"faults": len(FAULTS)})


async def set_chaos(request: Request) -> JSONResponse:
    CHAOS.clear()
    CHAOS.update(await request.json())
    return JSONResponse(CHAOS)


async def counters(request: Request) -> JSONResponse:
    return JSONResponse({"executions": dict(EXECUTIONS), "received": dict(RECEIVED)})


async def reset(request: Request) -> JSONResponse:
    EXECUTIONS.clear()
    RECEIVED.clear()
    FAULTS.clear()
    CHAOS.clear()
    return JSONResponse({"ok": True})


def build_app() -> Starlette:
    inner = mcp.http_app(path="/mcp", host_origin_protection=False)
    return Starlette(
        routes=[
            Route("/_faults", set_fault, methods=["POST"]),
            Route("/_counters", counters, methods=["GET"]),
            Route("/_chaos", set_chaos, methods=["POST"]),
            Route("/_reset", reset, methods=["POST"]),
            Mount("/", app=Faults(inner)),
        ],
        lifespan=inner.lifespan,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build_app(), host="127.0.0.1", port=args.port, log_level="warning")
