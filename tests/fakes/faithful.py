"""A FastMCP 4 backend that depends on its client, for the faithful-by-default tests.

Everything here behaves differently per client or per session, so a gateway that shares a
backend session between clients, or declares capabilities of its own, shows:

- `sample(prompt)`: asks the client's model (sampling, a push).
- `settings()`: asks the user (elicitation, a push) with defaults and an enum schema.
- `my_roots()`: the client's roots (a push).
- `declared()`: what the client declared it can do, as the backend sees it.
- `remember(text)` / resource `note://mine`: a note kept in this session only.
- `log_later(count)`: log messages sent after the call returned (outside any request).
- resource `counter://value`, subscribable; `bump()` tells its subscribers it changed.
- `needs_sampling`: a tool listed only to clients that declared sampling.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import anyio
import mcp_types
from fastmcp import Context, FastMCP
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from pydantic import BaseModel

mcp: FastMCP = FastMCP("faithful")
_subscribers: dict[str, list[Connection]] = {}
_notes: dict[int, str] = {}


class Settings(BaseModel):
    color: Literal["red", "green", "blue"] = "green"
    size: int = 3


@mcp.tool
async def sample(prompt: str, ctx: Context) -> str:
    """Ask the client's model."""
    result = await ctx.session._request_outbound.send_raw_request(
        "sampling/createMessage",
        {"messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": 10},
    )
    return str(result.get("content", {}).get("text"))


@mcp.tool
async def settings(ctx: Context) -> dict[str, Any]:
    """Ask the user for settings (an enum with a default, a number with a default)."""
    answer = await ctx.elicit("Your settings?", response_type=Settings)
    if answer.action != "accept":
        return {"action": answer.action}
    return {"action": "accept", **answer.data.model_dump()}


@mcp.tool
async def my_roots(ctx: Context) -> list[str]:
    """The client's roots."""
    result = await ctx.session._request_outbound.send_raw_request("roots/list", None)
    return [root["uri"] for root in result.get("roots", [])]


@mcp.tool
async def declared(ctx: Context) -> dict[str, bool]:
    """What the client declared, as this backend sees it."""
    caps = ctx.session.client_capabilities or mcp_types.ClientCapabilities()
    return {
        "sampling": caps.sampling is not None,
        "elicitation": caps.elicitation is not None,
        "roots": caps.roots is not None,
    }


@mcp.tool
async def remember(text: str, ctx: Context) -> str:
    """Keep a note in this session."""
    _notes[id(ctx.session._connection)] = text
    return text


@mcp.resource("note://mine")
async def note(ctx: Context) -> str:
    """This session's note (empty for a session that kept none)."""
    return _notes.get(id(ctx.session._connection), "")


@mcp.tool
async def log_later(count: int, ctx: Context) -> str:
    """Return at once, then send `count` log messages outside any request."""
    connection = ctx.session._connection

    async def later() -> None:
        await anyio.sleep(0.05)
        for i in range(count):
            await connection.notify("notifications/message", {"level": "info", "data": f"later {i}"})

    _background.add(asyncio.get_running_loop().create_task(later()))
    return "scheduled"


_background: set[asyncio.Task[None]] = set()


@mcp.tool
async def bump() -> int:
    """Tell every session subscribed to `counter://value` that it changed."""
    targets = list(_subscribers.get("counter://value", []))
    for connection in targets:
        await connection.send_resource_updated("counter://value")
    return len(targets)


@mcp.tool
def needs_sampling() -> str:
    """Listed only to clients that can sample."""
    return "offered"


@mcp.resource("counter://value")
def counter() -> str:
    """A resource clients may subscribe to."""
    return "1"


class OnlyForSamplers(Middleware):
    """Lists `needs_sampling` only to clients that declared sampling (handshake era)."""

    async def on_list_tools(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        tools = await call_next(context)
        ctx = context.fastmcp_context
        session = getattr(ctx, "session", None) if ctx is not None else None
        caps = getattr(session, "client_capabilities", None)
        if caps is not None and caps.sampling is None:
            return [t for t in tools if t.name != "needs_sampling"]
        return tools


mcp.add_middleware(OnlyForSamplers())


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


mcp._mcp_server.add_request_handler("resources/subscribe", mcp_types.SubscribeRequestParams, _subscribe)
mcp._mcp_server.add_request_handler("resources/unsubscribe", mcp_types.UnsubscribeRequestParams, _unsubscribe)


if __name__ == "__main__":
    from backends._serve import main

    main("faithful", lambda: mcp)
