"""In-process backends (`module:`, `openapi:`): a FastMCP server served over in-memory streams,
isolated from the front request that happens to send it a message.

mcp's memory streams run each message's handler in a snapshot of the *sender's* context
variables, and the sender is a task serving a front request: the in-process server would see
that request as its own (fastmcp's `get_http_headers()`, the caller's `Authorization` header
among them; `get_access_token()`: the caller's credentials). Sent from a task with an empty
context, the server sees what a remote one would: nothing of the caller's request. Trace
context still travels, in the request's `_meta`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastmcp import FastMCP
from mcp.shared.memory import create_client_server_memory_streams


@asynccontextmanager
async def serve_in_memory(server: FastMCP[Any]) -> AsyncIterator[tuple[Any, Any]]:
    """Run `server` on in-memory streams; yields the client's (read, write) ends."""
    lowlevel = server._mcp_server
    async with (
        create_client_server_memory_streams() as (client_streams, server_streams),
        anyio.create_task_group() as tg,
    ):
        options = lowlevel.create_initialization_options()
        tg.start_soon(lowlevel.run, server_streams[0], server_streams[1], options)
        try:
            yield client_streams[0], WithoutCallerContext(client_streams[1])
        finally:
            tg.cancel_scope.cancel()


class WithoutCallerContext:
    """The gateway's sending end of an in-memory session, delivering each message in an empty
    context (see the module's docstring)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def send(self, item: Any) -> None:
        await asyncio.get_running_loop().create_task(self._inner.send(item), context=contextvars.Context())

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> WithoutCallerContext:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
