"""`HttpLink`: a backend over streamable HTTP, through one pooled, observed client and one wire.

One `httpx2` connection pool per backend, shared by every session's SDK transport (the
handshake, the standalone GET stream, notifications); the backend's own credentials as default
headers, never the caller's; redirects not followed. Its transport records what happened to each
attempt (`gateway.resilience.observe`), so a failure can be told apart: never sent, refused, or
maybe run. Requests themselves travel on the link's `Wire` (`gateway.upstream.wire`), which needs
to know each handshake-era session's id: `connect` notes it in the session's `HopIdentity` as the
backend assigns it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AsyncExitStack

import httpx2
from mcp.client.streamable_http import streamable_http_client

from gateway.config import BackendConfig
from gateway.egress import Egress
from gateway.resilience.observe import Observation, ObservingTransport
from gateway.upstream.http import hardened_client, pooled_transport
from gateway.upstream.links.base import HopIdentity, Link, Streams, backend_headers, check_url_egress
from gateway.upstream.wire import Wire

SESSION_HEADER = "mcp-session-id"


def observing_transport(pool_size: int, egress: Egress) -> ObservingTransport:
    """A pooled keep-alive transport that records what happens to each attempt."""
    return ObservingTransport(
        pooled_transport(max_connections=max(pool_size * 2, 10), max_keepalive=pool_size * 2, egress=egress)
    )


class _NotingTransport(httpx2.AsyncBaseTransport):
    """One session's view of the shared transport: notes the session id the backend assigns.
    Closing it leaves the shared pool open (the link closes that)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, hop: HopIdentity) -> None:
        self._inner = inner
        self._hop = hop

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        session_id = response.headers.get(SESSION_HEADER)
        if session_id:
            self._hop.session_id = session_id
        return response

    async def aclose(self) -> None:
        return None


class HttpLink(Link):
    """Streamable HTTP over one shared, pooled client."""

    kind = "http"

    def __init__(self, name: str, config: BackendConfig, *, egress: Egress) -> None:
        super().__init__(name, config)
        self._egress = egress
        self.transport = observing_transport(config.pool_size, egress)
        assert config.url is not None
        self._wire = Wire(
            name,
            config.url,
            headers=backend_headers(config),
            egress=egress,
            connections=max(config.pool_size * 2, 10),
            connect_timeout=config.connect_timeout,
        )

    async def start(self, stack: AsyncExitStack) -> None:
        stack.push_async_callback(self.transport.aclose)
        await self._wire.start()
        stack.push_async_callback(self._wire.aclose)

    @property
    def wire(self) -> Wire:
        return self._wire

    def observed(self, attempt: str) -> Observation | None:
        return self.transport.take(attempt)

    async def check(self) -> None:
        await check_url_egress(self._egress, self.config)

    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        config = self.config
        assert config.url is not None
        client = hardened_client(
            egress=self._egress,
            headers=backend_headers(config),
            transport=_NotingTransport(self.transport, hop or HopIdentity()),
            timeout=httpx2.Timeout(config.request_timeout, connect=config.connect_timeout),
        )
        return streamable_http_client(config.url, http_client=client, terminate_on_close=True)

    def describe(self) -> str:
        return f"http {self.config.url}"
