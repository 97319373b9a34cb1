"""The one way the gateway builds an HTTP client toward anything upstream.

Backends over streamable HTTP and SSE, REST APIs and their OpenAPI documents are all reached
through `hardened_client`: the gateway's user agent, finite timeouts, redirects never followed,
nothing taken from the environment (proxy variables, netrc), one shared TLS context (building
one costs tens of milliseconds), and, with an `Egress`, every connection pinned to an address the
allowlist accepts (`PinnedBackend`: the host is resolved once per connection, checked, and that
very address is connected to; TLS still verifies the host name). Callers add only what is
theirs: headers with the backend's own credentials, a base URL, a transport that pools or observes.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore2
import httpx2

from gateway.egress import Egress, EgressError

USER_AGENT = "mcp-orchestration-gateway/0.1"

_SSL_CONTEXT: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every upstream client."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return _SSL_CONTEXT


class PinnedBackend(httpcore2.AsyncNetworkBackend):
    """Opens each connection to the address `egress` resolved and accepted for its host."""

    def __init__(self, egress: Egress, inner: httpcore2.AsyncNetworkBackend) -> None:
        self._egress = egress
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            address = await self._egress.resolve(host, port)
        except EgressError as error:  # nothing was sent: a connection failure like any other
            raise httpcore2.ConnectError(f"egress refused: {error}") from None
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not an upstream the gateway connects to")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pooled_transport(
    *, max_connections: int, max_keepalive: int, egress: Egress | None
) -> httpx2.AsyncHTTPTransport:
    """A keep-alive connection pool with the shared TLS context, blind to proxy variables, its
    connections pinned to addresses `egress` accepts (None: anywhere, for the gateway's own
    services such as a JWKS endpoint)."""
    transport = httpx2.AsyncHTTPTransport(
        verify=shared_ssl_context(),
        limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive),
        trust_env=False,
    )
    if egress is not None:
        pool = transport._pool
        pool._network_backend = PinnedBackend(egress, pool._network_backend)
    return transport


def hardened_client(
    *,
    timeout: httpx2.Timeout,
    egress: Egress | None,
    headers: Mapping[str, str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    base_url: str = "",
    auth: httpx2.Auth | None = None,
) -> httpx2.AsyncClient:
    """An upstream HTTP client: `headers` over the user agent, no redirects, nothing from the
    environment; `transport` if given (pinned by whoever made it), else a small pool pinned to
    addresses `egress` accepts."""
    if transport is None:
        transport = pooled_transport(max_connections=100, max_keepalive=20, egress=egress)
    return httpx2.AsyncClient(
        headers={"user-agent": USER_AGENT, **(headers or {})},
        timeout=timeout,
        transport=transport,
        base_url=base_url,
        auth=auth,
        follow_redirects=False,
        trust_env=False,
    )
