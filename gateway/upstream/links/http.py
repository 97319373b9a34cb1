"""`HttpLink`: a backend over streamable HTTP, through one pooled, observed client.

One `httpx2.AsyncClient` per backend (one keep-alive connection pool), reused by every session;
the backend's own credentials as default headers, never the caller's; redirects not followed.
Its transport records what happened to each attempt (`gateway.resilience.observe`), so a
failure can be told apart: never sent, refused, or maybe run.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AsyncExitStack

import httpx2
from mcp.client.streamable_http import streamable_http_client

from gateway.config import BackendConfig
from gateway.egress import Egress
from gateway.resilience.observe import Observation, ObservingTransport
from gateway.upstream.http import hardened_client, pooled_transport
from gateway.upstream.links.base import Link, Streams, backend_headers, check_url_egress


def observing_transport(pool_size: int, egress: Egress) -> ObservingTransport:
    """A pooled keep-alive transport that records what happens to each attempt."""
    return ObservingTransport(
        pooled_transport(max_connections=max(pool_size * 2, 10), max_keepalive=pool_size * 2, egress=egress)
    )


class HttpLink(Link):
    """Streamable HTTP over one shared, pooled client."""

    kind = "http"

    def __init__(self, name: str, config: BackendConfig, *, egress: Egress) -> None:
        super().__init__(name, config)
        self._egress = egress
        self._client: httpx2.AsyncClient | None = None
        self.transport = observing_transport(config.pool_size, egress)

    async def start(self, stack: AsyncExitStack) -> None:
        config = self.config
        client = hardened_client(
            egress=self._egress,
            headers=backend_headers(config),
            transport=self.transport,
            timeout=httpx2.Timeout(config.request_timeout, connect=config.connect_timeout),
        )
        self._client = await stack.enter_async_context(client)

    def observed(self, attempt: str) -> Observation | None:
        return self.transport.take(attempt)

    async def check(self) -> None:
        await check_url_egress(self._egress, self.config)

    def connect(self) -> AbstractAsyncContextManager[Streams]:
        assert self._client is not None, "link not started"
        assert self.config.url is not None
        return streamable_http_client(self.config.url, http_client=self._client, terminate_on_close=True)

    def describe(self) -> str:
        return f"http {self.config.url}"
