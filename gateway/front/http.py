"""The HTTP front: the ASGI app that serves MCP, behind the guard and authentication.

HTTP binds 127.0.0.1 by default and keeps the DNS-rebinding guard on: the Host header must
name this server (or a host listed in `http.allowed_hosts`) and a browser Origin must be the
server's own or listed in `http.allowed_origins`. With `auth` configured, every MCP request
needs `Authorization: Bearer`; the HTTP guard (`gateway.front.guard`) checks sizes and shapes
first. MCP is served at `/mcp` (`/sse` for SSE), beside `/healthz`, `/readyz` and `/metrics`
(which need no credentials).
"""

from __future__ import annotations

from typing import Any, Literal

from fastmcp import FastMCP
from fastmcp.server.http import RequestContextMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway.config import GatewayConfig
from gateway.dispatch.drain import Drain
from gateway.front import session_ids
from gateway.front.auth import build_auth
from gateway.front.guard import HttpGuard
from gateway.front.hostguard import HostOriginGuard
from gateway.front.ledger import SessionLedger
from gateway.relay.fast import FastPath
from gateway.relay.relay import Relay

MCP_PATH = "/mcp"
SSE_PATH = "/sse"
MESSAGES_PATH = "/messages"
"""Where SSE clients POST their messages (FastMCP's `/messages/`): guarded like the rest."""
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def allowed_hosts(config: GatewayConfig, host: str, port: int) -> list[str]:
    """Host header values the front accepts."""
    hosts = [host, f"{host}:{port}"]
    if host in LOOPBACK_NAMES:
        hosts += [h for name in LOOPBACK_NAMES for h in (name, f"{name}:{port}")]
    hosts += list(config.http.allowed_hosts)
    return list(dict.fromkeys(hosts))


def http_app(
    server: FastMCP[Any],
    config: GatewayConfig,
    *,
    drain: Drain,
    sessions: SessionLedger,
    transport: Literal["http", "sse"],
    host: str,
    port: int,
    relay: Relay | None = None,
) -> Starlette:
    """The ASGI app serving MCP (and the server's own routes), behind authentication and the guard."""
    session_ids.install()
    server.auth = build_auth(config.auth, base_url=f"http://{host}:{port}")
    path = MCP_PATH if transport == "http" else SSE_PATH
    guarded = (MCP_PATH,) if transport == "http" else (SSE_PATH, MESSAGES_PATH)
    cors = config.http.cors
    guard = Middleware(
        HttpGuard,
        limits=config.limits,
        paths=guarded,
        sessions=sessions,
        auth_required=config.auth is not None,
        draining=lambda: drain.draining,
    )
    hosts = Middleware(
        HostOriginGuard,
        allowed_hosts=allowed_hosts(config, host, port),
        allowed_origins=[*config.http.allowed_origins, *cors.allow_origins],
    )
    middleware = [guard]
    if relay is not None and transport == "http" and config.http.fast_path:
        middleware.append(Middleware(FastPath, relay=relay, path=MCP_PATH))
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
    middleware.insert(0, hosts)  # first of ours, where FastMCP's own guard would be
    app = server.http_app(
        path=path,
        transport=transport,
        middleware=middleware,
        host_origin_protection=False,  # `HostOriginGuard` is FastMCP's, its verdicts remembered
        session_idle_timeout=config.http.session_idle_timeout if transport == "http" else None,
    )
    if relay is not None and transport == "http":
        relay.front_sessions.watch(_sessions_endpoint(app))
    return _request_context_where_read(app)


def _sessions_endpoint(app: Starlette) -> Any:
    """FastMCP's endpoint at `/mcp` (under its authentication check, if any), whose session
    manager, made as the app starts, holds the sessions the SDK's server serves."""
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None) if getattr(route, "path", None) == MCP_PATH else None
        while endpoint is not None and not hasattr(endpoint, "session_manager"):
            endpoint = getattr(endpoint, "app", None)
        if endpoint is not None:
            return endpoint
    raise RuntimeError(f"no MCP endpoint with sessions at {MCP_PATH}")


def _request_context_where_read(app: Starlette) -> Starlette:
    """FastMCP puts its request context (the request in a context variable, for
    `get_http_request()`) outermost; only its MCP server reads it, so it is set just in front of
    that server, after the guard and the fast path: a call the fast path answers does not pay
    for it (3-4% of the gateway's CPU per call)."""
    context: object = RequestContextMiddleware
    ordered = sorted(app.user_middleware, key=lambda m: m.cls is context)  # stable: the rest keep their order
    app.user_middleware = ordered
    return app
