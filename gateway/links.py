"""Backend links: how the gateway reaches one backend, as a factory of message streams.

A `Link` is started once (with the gateway) and then opens as many transport connections as
the backend's sessions need. Each kind keeps what can be shared, shared:

- `HttpLink`: one `httpx2.AsyncClient` per backend (one keep-alive connection pool, one TLS
  context), reused by every session; the backend's own credentials as default headers; never
  the caller's. Redirects are not followed.
- `SseLink`: the legacy HTTP+SSE transport (a URL ending in `/sse`).
- `StdioLink`: a subprocess per session, spawned from config only, with an allowlisted
  environment (the SDK's safe defaults plus the backend's `env`).
- `ModuleLink`: a FastMCP server imported into this process; its lifespan runs once, each
  session is a pair of in-memory streams.
- `OpenApiLink` (`gateway.openapi`): a REST API, served by an in-process FastMCP server built
  from its OpenAPI document.
"""

from __future__ import annotations

import importlib
import ssl
import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from fastmcp import FastMCP
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from gateway.config import BackendConfig
from gateway.egress import Egress
from gateway.errors import ConfigError
from gateway.inmemory import serve_in_memory
from gateway.resilience.observe import Observation, ObservingTransport

Streams = tuple[Any, Any]
"""(read stream, write stream) as the SDK's transports yield them."""

USER_AGENT = "mcp-orchestration-gateway/0.1"
PYTHON_ALIASES = frozenset({"python", "python3"})
NAMESPACE_ENV = "MCP_TOOL_PREFIX"


class Link(ABC):
    """Opens transport connections to one backend."""

    kind = "abstract"

    def __init__(self, name: str, config: BackendConfig) -> None:
        self.name = name
        self.config = config

    async def start(self, stack: AsyncExitStack) -> None:  # noqa: B027 - most links share nothing
        """Acquire what all sessions share; released when `stack` closes."""

    async def check(self) -> None:  # noqa: B027 - only network links have an address to check
        """Raise `EgressError` if the backend's address is not allowed (checked per session)."""

    def observed(self, attempt: str) -> Observation | None:
        """What the transport saw of an attempt (HTTP links only)."""
        return None

    @abstractmethod
    def connect(self) -> AbstractAsyncContextManager[Streams]:
        """A new transport connection (entered by the session that owns it)."""

    def describe(self) -> str:
        """Where the backend is, safe to show (no credentials)."""
        return self.kind


_SSL_CONTEXT: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every backend client: building one costs tens of milliseconds."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return _SSL_CONTEXT


def backend_headers(config: BackendConfig) -> dict[str, str]:
    """The headers every request to this backend carries: its own credentials, nothing of a caller's."""
    headers = {"user-agent": USER_AGENT}
    headers.update({k: v.get_secret_value() for k, v in config.headers.items()})
    if config.bearer_token is not None:
        headers["authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    return headers


def backend_http_client(
    config: BackendConfig, *, pool_size: int, transport: ObservingTransport
) -> httpx2.AsyncClient:
    """The HTTP client for one backend: its credentials, finite timeouts, no redirects."""
    return httpx2.AsyncClient(
        headers=backend_headers(config),
        transport=transport,
        follow_redirects=False,
        timeout=httpx2.Timeout(config.request_timeout, connect=config.connect_timeout),
        trust_env=False,
    )


def observing_transport(pool_size: int) -> ObservingTransport:
    """A pooled keep-alive transport that records what happens to each attempt."""
    return ObservingTransport(
        httpx2.AsyncHTTPTransport(
            verify=shared_ssl_context(),
            limits=httpx2.Limits(
                max_connections=max(pool_size * 2, 10), max_keepalive_connections=pool_size * 2
            ),
            trust_env=False,
        )
    )


class HttpLink(Link):
    """Streamable HTTP over one shared, pooled client."""

    kind = "http"

    def __init__(self, name: str, config: BackendConfig, *, egress: Egress) -> None:
        super().__init__(name, config)
        self._egress = egress
        self._client: httpx2.AsyncClient | None = None
        self.transport = observing_transport(config.pool_size)

    async def start(self, stack: AsyncExitStack) -> None:
        self._client = await stack.enter_async_context(
            backend_http_client(self.config, pool_size=self.config.pool_size, transport=self.transport)
        )

    def observed(self, attempt: str) -> Observation | None:
        return self.transport.take(attempt)

    async def check(self) -> None:
        await _check_egress(self._egress, self.config)

    def connect(self) -> AbstractAsyncContextManager[Streams]:
        assert self._client is not None, "link not started"
        assert self.config.url is not None
        return streamable_http_client(self.config.url, http_client=self._client, terminate_on_close=True)

    def describe(self) -> str:
        return f"http {self.config.url}"


class SseLink(Link):
    """The legacy HTTP+SSE transport."""

    kind = "sse"

    def __init__(self, name: str, config: BackendConfig, *, egress: Egress) -> None:
        super().__init__(name, config)
        self._egress = egress

    async def check(self) -> None:
        await _check_egress(self._egress, self.config)

    def connect(self) -> AbstractAsyncContextManager[Streams]:
        config = self.config
        url = config.url
        assert url is not None

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            merged = {**(headers or {}), **backend_headers(config)}
            return httpx2.AsyncClient(
                headers=merged,
                auth=auth,
                verify=shared_ssl_context(),
                follow_redirects=False,
                timeout=timeout or httpx2.Timeout(config.request_timeout, connect=config.connect_timeout),
                trust_env=False,
            )

        return sse_client(
            url,
            timeout=config.connect_timeout,
            sse_read_timeout=max(config.request_timeout, 300.0),
            httpx_client_factory=factory,
        )

    def describe(self) -> str:
        return f"sse {self.config.url}"


class StdioLink(Link):
    """A subprocess per session, speaking MCP over its stdin/stdout."""

    kind = "stdio"

    def __init__(self, name: str, config: BackendConfig, *, base_dir: Path, namespace: str) -> None:
        super().__init__(name, config)
        assert config.command is not None
        program, *args = config.command
        if program in PYTHON_ALIASES:
            program = sys.executable
        env = {NAMESPACE_ENV: f"{namespace}_" if namespace else ""}
        env.update(config.env)
        cwd = base_dir / config.cwd if config.cwd else base_dir
        self.parameters = StdioServerParameters(command=program, args=list(args), env=env, cwd=str(cwd))

    def connect(self) -> AbstractAsyncContextManager[Streams]:
        # The child's stderr is the gateway process's own (not a replaced sys.stderr).
        errlog = sys.__stderr__ if sys.__stderr__ is not None else sys.stderr
        return stdio_client(self.parameters, errlog=errlog)

    def describe(self) -> str:
        command = " ".join(self.config.command or ())
        return f"stdio `{command}`"


class ModuleLink(Link):
    """A FastMCP server imported into the gateway process (the config's directory is importable)."""

    kind = "module"

    def __init__(self, name: str, config: BackendConfig, *, base_dir: Path) -> None:
        super().__init__(name, config)
        self._base_dir = base_dir
        self._server: FastMCP[Any] | None = None

    def load(self) -> FastMCP[Any]:
        """Import the module and find the server (`module` or `module:attribute`)."""
        if self._server is not None:
            return self._server
        assert self.config.module is not None
        module_name, _, attribute = self.config.module.partition(":")
        if str(self._base_dir) not in sys.path:
            sys.path.append(str(self._base_dir))
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConfigError(
                [f"backends.{self.name}.module: cannot import {module_name!r}: {error}"]
            ) from None
        value = getattr(module, attribute or "mcp", None)
        if callable(value) and not isinstance(value, FastMCP):
            value = value()
        if not isinstance(value, FastMCP):
            raise ConfigError(
                [
                    f"backends.{self.name}.module: {self.config.module!r} holds no FastMCP server "
                    f"(looked for attribute {attribute or 'mcp'!r})"
                ]
            )
        self._server = value
        return value

    async def start(self, stack: AsyncExitStack) -> None:
        server = self.load()
        await stack.enter_async_context(server._lifespan_manager())

    def connect(self) -> AbstractAsyncContextManager[Streams]:
        return self._connect()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Streams]:
        async with serve_in_memory(self.load()) as streams:
            yield streams

    def describe(self) -> str:
        return f"in-process {self.config.module}"


async def _check_egress(egress: Egress, config: BackendConfig) -> None:
    parts = urlsplit(config.url or "")
    if parts.hostname is not None:
        await egress.check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def make_link(name: str, config: BackendConfig, *, base_dir: Path, namespace: str, egress: Egress) -> Link:
    """The link for one backend's config."""
    kind = config.kind
    if kind == "stdio":
        return StdioLink(name, config, base_dir=base_dir, namespace=namespace)
    if kind == "http":
        return HttpLink(name, config, egress=egress)
    if kind == "sse":
        return SseLink(name, config, egress=egress)
    if kind == "openapi":
        from gateway.openapi import OpenApiLink  # it builds on this module

        return OpenApiLink(name, config, base_dir=base_dir, egress=egress)
    return ModuleLink(name, config, base_dir=base_dir)
