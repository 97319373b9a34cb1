"""Serving the gateway: stdio, or HTTP/SSE under uvicorn with a graceful drain.

stdio is a local, trusted front: it is not authenticated. Over HTTP and SSE, SIGTERM (or
Ctrl-C) starts a drain: new calls get 503, the calls in flight may finish for up to
`gateway.drain_timeout`, then the server stops; a second signal stops it at once.
"""

from __future__ import annotations

import asyncio
import logging
from types import FrameType
from typing import Any, Literal

import uvicorn
from fastmcp import FastMCP
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette

from gateway.config.model import HttpFront
from gateway.dispatch.drain import Drain
from gateway.front.connections import protocol_with_header_deadline

logger = logging.getLogger("gateway.front")

Transport = Literal["http", "sse", "stdio"]


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain before it stops."""

    def __init__(self, config: uvicorn.Config, drain: Drain, *, drain_timeout: float) -> None:
        super().__init__(config)
        self._drain = drain
        self._drain_timeout = drain_timeout
        self._draining = False
        # Streams are ended by the drain below, not the moment a signal arrives.
        AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining:
            AppStatus.should_exit = True
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self._drain.begin()
        self._drain_task = asyncio.get_event_loop().create_task(self._wait_for_calls())

    async def _wait_for_calls(self) -> None:
        if not await self._drain.wait(self._drain_timeout):
            logger.warning("drain timeout: %d calls still in flight are cut off", self._drain.in_flight)
        AppStatus.should_exit = True
        self.should_exit = True


async def serve_stdio(server: FastMCP[Any], *, log_level: str) -> None:
    """Serve MCP on this process's stdin/stdout until the client closes it."""
    await server.run_stdio_async(show_banner=False, log_level=log_level)


async def serve_http(
    app: Starlette,
    *,
    host: str,
    port: int,
    log_level: str,
    drain: Drain,
    drain_timeout: float,
    front: HttpFront,
) -> None:
    """Serve an ASGI app under uvicorn until interrupted, draining calls in flight first;
    `front` limits connections (how many, how slow their headers may be)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        ws="none",  # no WebSocket endpoint: its protocol modules are not even imported
        timeout_graceful_shutdown=2,
        server_header=False,
        access_log=False,
        log_config=None,  # uvicorn's records go through the gateway's handler (text or JSON)
        http=protocol_with_header_deadline(front.header_timeout),
        limit_concurrency=front.max_connections,
    )
    await DrainingServer(config, drain, drain_timeout=drain_timeout).serve()
