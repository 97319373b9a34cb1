"""A backend for workflow tests: numbers, sums, a store, tools that fail, and two tools that can
only both finish when they run at the same time. In-process (`module: tests.fakes.steps`), so
tests read its counters directly."""

from __future__ import annotations

import json
from collections import Counter

import anyio
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError

mcp: FastMCP = FastMCP("steps")
calls: Counter[str] = Counter()
stored: list[str] = []
_arrived: dict[str, anyio.Event] = {}


def reset() -> None:
    calls.clear()
    stored.clear()
    _arrived.clear()


@mcp.tool(annotations={"readOnlyHint": True, "idempotentHint": True})
def numbers(count: int = 5, start: float = 1.0) -> list[float]:
    """`count` numbers from `start` up, one apart."""
    calls["numbers"] += 1
    return [start + i for i in range(count)]


@mcp.tool(annotations={"readOnlyHint": True, "idempotentHint": True})
def describe(values: list[float]) -> dict[str, float]:
    """Count, sum and largest value."""
    calls["describe"] += 1
    return {"count": len(values), "sum": sum(values), "max": max(values)}


@mcp.tool
def store(text: str, tags: list[str] | None = None) -> dict[str, object]:
    """Keep the text; returns its id."""
    calls["store"] += 1
    stored.append(text)
    return {"id": len(stored), "tags": tags or []}


@mcp.tool(annotations={"idempotentHint": True})
def flaky(key: str, failures: int = 1) -> str:
    """Fail the first `failures` calls for `key`, then succeed (safe to retry)."""
    calls[f"flaky:{key}"] += 1
    if calls[f"flaky:{key}"] <= failures:
        raise ToolError(f"flaky {key} failed (try {calls[f'flaky:{key}']})")
    return f"{key} ok"


@mcp.tool
def fragile(key: str) -> str:
    """Always fails; not safe to retry."""
    calls[f"fragile:{key}"] += 1
    raise ToolError(f"fragile {key} broke")


@mcp.tool(annotations={"readOnlyHint": True, "idempotentHint": True})
async def meet(side: str, other: str) -> str:
    """Arrive as `side`, then wait (at most 5 s) for `other` to arrive too."""
    calls[f"meet:{side}"] += 1
    _arrived.setdefault(side, anyio.Event()).set()
    with anyio.fail_after(5):
        await _arrived.setdefault(other, anyio.Event()).wait()
    return f"{side} met {other}"


@mcp.tool(annotations={"readOnlyHint": True, "idempotentHint": True})
async def nap(ms: int) -> int:
    """Sleep, then return the milliseconds."""
    await anyio.sleep(ms / 1000)
    return ms


@mcp.resource("steps://table/{rows}", mime_type="application/json")
def table(rows: str) -> str:
    """A small JSON table."""
    calls["table"] += 1
    return json.dumps({"rows": [{"id": i, "value": i * 10.0} for i in range(1, int(rows) + 1)]})
