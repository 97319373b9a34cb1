"""Answer a client's handshake only once the gateway knows what it serves, in its caller's view.

The capabilities and instructions a client receives at `initialize` (or `server/discover`)
depend on the backends: completions and resource subscriptions are advertised only when a
backend offers them. So the handshake waits for the first listing of every backend (bounded
by the backends' own timeouts) instead of advertising a guess. The instructions name only the
backends the caller's view reaches: a handshake tells nobody what they cannot use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import mcp_types
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_request
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext

from gateway.principal import Principal, principal_of_scope
from gateway.upstream.backend import Backend

Instructions = Callable[[Principal], "str | None"]
"""The instructions for a principal's handshake."""


def describe(backends: Iterable[Backend]) -> str:
    """Instructions for clients: which servers are behind this endpoint, and their own."""
    shown = list(backends)
    lines = [f"This endpoint serves {len(shown)} MCP servers; names carry the server's prefix."]
    for backend in shown:
        prefix = f"{backend.namespace}_" if backend.namespace else "(no prefix)"
        about = backend.config.description or ""
        lines.append(f"- {backend.name}: tools and prompts named {prefix}*. {about}".rstrip())
        if backend.instructions:
            lines.append("  " + backend.instructions.strip().replace("\n", "\n  "))
    return "\n".join(lines)


def _principal() -> Principal:
    try:
        scope: object = get_http_request().scope
    except RuntimeError:  # stdio or in-process: a local caller
        scope = None
    return principal_of_scope(scope)


class WaitForCatalogs(Middleware):
    """Holds `initialize` / `server/discover` until the backends' catalogs are loaded, then
    answers with the capabilities of now and the caller's own instructions."""

    def __init__(
        self, server: FastMCP[Any], ready: Callable[[], Awaitable[None]], instructions: Instructions
    ) -> None:
        self._server = server
        self._ready = ready
        self._instructions = instructions

    async def on_initialize(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        await self._ready()
        result = await call_next(context)
        if not isinstance(result, mcp_types.InitializeResult):
            return result
        # The SDK computed this answer when the connection opened; recompute what depends on
        # the backends now that they are known.
        server = self._server._mcp_server
        capabilities = server.get_capabilities(server.notification_options)
        instructions = self._instructions(_principal())
        return result.model_copy(update={"capabilities": capabilities, "instructions": instructions})

    async def on_discover(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        await self._ready()
        result = await call_next(context)
        if not isinstance(result, mcp_types.DiscoverResult):
            return result
        return result.model_copy(update={"instructions": self._instructions(_principal())})
