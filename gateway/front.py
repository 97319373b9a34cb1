"""The front door: serving the gateway over streamable HTTP, SSE or stdio.

HTTP binds 127.0.0.1 by default and keeps the DNS-rebinding guard on: the Host header must
name this server (or a host listed in `http.allowed_hosts`) and a browser Origin must be the
server's own or listed in `http.allowed_origins`. With `auth` configured, every MCP request
needs `Authorization: Bearer`; the HTTP guard (`gateway.policies.http_guard`) checks sizes and
shapes first. MCP is served at `/mcp` (`/sse` for SSE), beside `/healthz` and `/readyz` (which
need no credentials). stdio is a local, trusted front: it is not authenticated.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import FrameType
from typing import Literal

import anyio
import uvicorn
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway.app import Gateway
from gateway.auth import build_auth
from gateway.health import install_health_routes
from gateway.metrics import install_metrics_route
from gateway.policies.http_guard import HttpGuard
from gateway.reload import Reloader

logger = logging.getLogger("gateway.front")

Transport = Literal["http", "sse", "stdio"]
MCP_PATH = "/mcp"
SSE_PATH = "/sse"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def allowed_hosts(gateway: Gateway, host: str, port: int) -> list[str]:
    """Host header values the front accepts."""
    hosts = [host, f"{host}:{port}"]
    if host in LOOPBACK_NAMES:
        hosts += [h for name in LOOPBACK_NAMES for h in (name, f"{name}:{port}")]
    hosts += list(gateway.config.http.allowed_hosts)
    return list(dict.fromkeys(hosts))


def http_app(gateway: Gateway, *, transport: Literal["http", "sse"], host: str, port: int) -> Starlette:
    """The ASGI app serving MCP and the health endpoints, behind authentication and the guard."""
    install_health_routes(gateway)
    if gateway.config.http.metrics:
        install_metrics_route(gateway)
    config = gateway.config
    gateway.server.auth = build_auth(config.auth, base_url=f"http://{host}:{port}")
    path = MCP_PATH if transport == "http" else SSE_PATH
    cors = config.http.cors
    middleware = [Middleware(HttpGuard, limits=config.limits, path=path, draining=lambda: gateway.draining)]
    if cors.allow_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors.allow_origins),
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                allow_headers=list(cors.allow_headers),
                expose_headers=["mcp-session-id", "mcp-protocol-version", "www-authenticate"],
                max_age=cors.max_age,
            ),
        )
    return gateway.server.http_app(
        path=path,
        transport=transport,
        middleware=middleware,
        host_origin_protection=True,
        allowed_hosts=allowed_hosts(gateway, host, port),
        allowed_origins=[*config.http.allowed_origins, *cors.allow_origins],
    )


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain before it stops: on SIGTERM/SIGINT the gateway refuses new calls
    (503), lets the calls in flight finish (up to `drain_timeout`), then shuts down. A second
    signal stops at once."""

    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self._gateway = gateway
        self._draining = False
        # Streams are ended by the drain below, not the moment a signal arrives.
        AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining:
            AppStatus.should_exit = True
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self._gateway.draining = True
        self._drain_task = asyncio.get_event_loop().create_task(self._drain())

    async def _drain(self) -> None:
        if self._gateway.in_flight:
            with anyio.move_on_after(self._gateway.config.gateway.drain_timeout):
                await self._gateway.drained.wait()
        if self._gateway.in_flight:
            logger.warning("drain timeout: %d calls still in flight are cut off", self._gateway.in_flight)
        AppStatus.should_exit = True
        self.should_exit = True


async def serve(gateway: Gateway, *, transport: Transport, host: str, port: int, log_level: str) -> None:
    """Serve until interrupted (HTTP and SSE drain calls in flight first), reloading the config
    file on SIGHUP and when it changes."""
    async with anyio.create_task_group() as group:
        if gateway.config_path is not None:
            group.start_soon(_watch, gateway, gateway.config_path)
        await _serve(gateway, transport=transport, host=host, port=port, log_level=log_level)
        group.cancel_scope.cancel()


async def _watch(gateway: Gateway, path: Path) -> None:
    await gateway.wait_started()
    await Reloader(gateway, path).watch()


async def _serve(gateway: Gateway, *, transport: Transport, host: str, port: int, log_level: str) -> None:
    if transport == "stdio":
        await gateway.server.run_stdio_async(show_banner=False, log_level=log_level)
        return
    app = http_app(gateway, transport=transport, host=host, port=port)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=2,
        server_header=False,
        access_log=False,
        log_config=None,  # uvicorn's records go through the gateway's handler (text or JSON)
    )
    await DrainingServer(config, gateway).serve()
