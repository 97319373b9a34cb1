"""`SseLink`: a backend over the legacy HTTP+SSE transport (a URL ending in `/sse`)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import httpx2
from mcp.client.sse import sse_client

from gateway.config import BackendConfig
from gateway.egress import Egress
from gateway.upstream.http import hardened_client
from gateway.upstream.links.base import HopIdentity, Link, Streams, backend_headers, check_url_egress

SSE_READ_TIMEOUT_FLOOR = 300.0


class SseLink(Link):
    """The legacy HTTP+SSE transport: a stream per session, the backend's own headers."""

    kind = "sse"

    def __init__(self, name: str, config: BackendConfig, *, egress: Egress) -> None:
        super().__init__(name, config)
        self._egress = egress

    async def check(self) -> None:
        await check_url_egress(self._egress, self.config)

    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        config, egress = self.config, self._egress
        assert config.url is not None

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return hardened_client(
                egress=egress,
                headers={**(headers or {}), **backend_headers(config)},
                timeout=timeout or httpx2.Timeout(config.request_timeout, connect=config.connect_timeout),
                auth=auth,
            )

        return sse_client(
            config.url,
            timeout=config.connect_timeout,
            sse_read_timeout=max(config.request_timeout, SSE_READ_TIMEOUT_FLOOR),
            httpx_client_factory=factory,
        )

    def describe(self) -> str:
        return f"sse {self.config.url}"
