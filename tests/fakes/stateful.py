"""A backend that keeps state per session and sends change notifications, for relay tests.

- `increment()`: a counter per backend session (what a per-client backend must keep apart).
- `grow(name)`: adds a tool named `name`, then says so (`notifications/tools/list_changed`).
- `touch(uri)`: tells every session subscribed to `uri` that it changed.
- `crash()`: the process exits at once (stdio runs), or the session breaks (in-process).
- `wait_for_cancel(seconds)`: sleeps, recording whether it was cancelled (`cancelled()` reads it).
- `ask(question)` / `sample(prompt)` / `roots()`: server→client requests (handshake era).
- resources `state://counter` and subscriptions (`resources/subscribe`, `unsubscribe`).
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import mcp_types
from fastmcp import Context, FastMCP
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext

mcp: FastMCP = FastMCP("stateful")
_subscribers: dict[str, list[Connection]] = {}
_cancelled: list[str] = []


@mcp.tool
async def increment(ctx: Context) -> int:
    """Add one to this session's counter and return it."""
    value = int(await ctx.get_state("counter") or 0) + 1
    await ctx.set_state("counter", value)
    return value


@mcp.tool
async def grow(name: str, ctx: Context) -> str:
    """Add a tool called `name` and announce the change."""

    def added() -> str:
        return name

    mcp.tool(added, name=name, description="A tool added at run time.")
    await ctx.session._connection.send_tool_list_changed()
    return name


@mcp.tool
async def touch(uri: str) -> int:
    """Announce that `uri` changed to every session subscribed to it; returns how many."""
    targets = list(_subscribers.get(uri, []))
    for connection in targets:
        await connection.send_resource_updated(uri)
    return len(targets)


@mcp.tool
def crash() -> str:
    """End the process at once (a crash)."""
    os._exit(3)


@mcp.tool
async def wait_for_cancel(seconds: float, tag: str) -> str:
    """Sleep; if cancelled first, remember `tag`. Touches $STATEFUL_MARKER when it starts."""
    marker = os.environ.get("STATEFUL_MARKER")
    if marker:
        with open(marker, "w") as started:  # noqa: ASYNC230 - a tiny test-only write
            started.write(tag)
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        _cancelled.append(tag)
        raise
    return "finished"


@mcp.tool
def cancelled() -> list[str]:
    """Tags of the calls that were cancelled."""
    return list(_cancelled)


@mcp.tool
async def ask(question: str, ctx: Context) -> str:
    """Ask the client (elicitation) and report the answer."""
    result = await ctx.session._request_outbound.send_raw_request(
        "elicitation/create",
        {
            "mode": "form",
            "message": question,
            "requestedSchema": {"type": "object", "properties": {"answer": {"type": "string"}}},
        },
    )
    return f"{result.get('action')}:{(result.get('content') or {}).get('answer')}"


@mcp.tool
async def sample(prompt: str, ctx: Context) -> str:
    """Ask the client's model (sampling) and report the answer."""
    result = await ctx.session._request_outbound.send_raw_request(
        "sampling/createMessage",
        {"messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": 10},
    )
    return str(result.get("content", {}).get("text"))


@mcp.tool
async def roots(ctx: Context) -> list[str]:
    """The client's roots."""
    result = await ctx.session._request_outbound.send_raw_request("roots/list", None)
    return [root["uri"] for root in result.get("roots", [])]


@mcp.tool
def env(name: str) -> str | None:
    """The value of an environment variable in this backend's process (None if unset)."""
    return os.environ.get(name)


@mcp.resource("state://counter")
def counter() -> str:
    """A resource clients may subscribe to."""
    return "counter"


async def _subscribe(ctx: ServerRequestContext[Any, Any], params: mcp_types.SubscribeRequestParams) -> Any:
    _subscribers.setdefault(str(params.uri), []).append(ctx.session._connection)
    return mcp_types.EmptyResult()


async def _unsubscribe(
    ctx: ServerRequestContext[Any, Any], params: mcp_types.UnsubscribeRequestParams
) -> Any:
    connections = _subscribers.get(str(params.uri), [])
    if ctx.session._connection in connections:
        connections.remove(ctx.session._connection)
    return mcp_types.EmptyResult()


_roots_changes: list[int] = [0]


async def _roots_changed(ctx: ServerRequestContext[Any, Any], params: mcp_types.NotificationParams) -> None:
    _roots_changes[0] += 1


def roots_changes() -> int:
    """How many `notifications/roots/list_changed` this backend has heard (for tests)."""
    return _roots_changes[0]


mcp._mcp_server.add_notification_handler(
    "notifications/roots/list_changed", mcp_types.NotificationParams, _roots_changed
)
mcp._mcp_server.add_request_handler("resources/subscribe", mcp_types.SubscribeRequestParams, _subscribe)
mcp._mcp_server.add_request_handler("resources/unsubscribe", mcp_types.UnsubscribeRequestParams, _unsubscribe)


def subscriber_count(uri: str) -> int:
    """How many backend sessions are subscribed to `uri` (for tests)."""
    return len(_subscribers.get(uri, []))


if __name__ == "__main__":
    from backends._serve import main

    main("stateful", lambda: mcp)
