"""Answer a client's handshake only once the gateway knows what it serves.

The capabilities and instructions a client receives at `initialize` (or `server/discover`)
depend on the backends: completions and resource subscriptions are advertised only when a
backend offers them. So the handshake waits for the first listing of every backend (bounded
by the backends' own timeouts) instead of advertising a guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types
from fastmcp import FastMCP
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext


class WaitForCatalogs(Middleware):
    """Holds `initialize` / `server/discover` until the backends' catalogs are loaded."""

    def __init__(self, server: FastMCP[Any], ready: Callable[[], Awaitable[None]]) -> None:
        self._server = server
        self._ready = ready

    async def on_initialize(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        await self._ready()
        result = await call_next(context)
        if not isinstance(result, mcp_types.InitializeResult):
            return result
        # The SDK computed this answer when the connection opened; recompute what depends on
        # the backends now that they are known.
        server = self._server._mcp_server
        capabilities = server.get_capabilities(server.notification_options)
        return result.model_copy(update={"capabilities": capabilities, "instructions": server.instructions})

    async def on_discover(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        await self._ready()
        return await call_next(context)
