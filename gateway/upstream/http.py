"""The one way the gateway builds an HTTP client toward anything upstream.

Backends over streamable HTTP and SSE, REST APIs and their OpenAPI documents are all reached
through `hardened_client`: the gateway's user agent, finite timeouts, redirects never followed,
nothing taken from the environment (proxy variables, netrc), and one shared TLS context
(building one costs tens of milliseconds). Callers add only what is theirs: headers with the
backend's own credentials, a base URL, a transport that pools or observes.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx2

USER_AGENT = "mcp-orchestration-gateway/0.1"

_SSL_CONTEXT: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every upstream client."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return _SSL_CONTEXT


def pooled_transport(*, max_connections: int, max_keepalive: int) -> httpx2.AsyncHTTPTransport:
    """A keep-alive connection pool with the shared TLS context, blind to proxy variables."""
    return httpx2.AsyncHTTPTransport(
        verify=shared_ssl_context(),
        limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive),
        trust_env=False,
    )


def hardened_client(
    *,
    timeout: httpx2.Timeout,
    headers: Mapping[str, str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    base_url: str = "",
    auth: httpx2.Auth | None = None,
) -> httpx2.AsyncClient:
    """An upstream HTTP client: `headers` over the user agent, no redirects, nothing from the
    environment; `transport` if given, else a connection per request on the shared TLS context."""
    return httpx2.AsyncClient(
        headers={"user-agent": USER_AGENT, **(headers or {})},
        timeout=timeout,
        transport=transport,
        verify=shared_ssl_context(),
        base_url=base_url,
        auth=auth,
        follow_redirects=False,
        trust_env=False,
    )
