"""`Link`: how the gateway reaches one backend, as a factory of message streams.

A link is started once (with its backend) and then opens as many transport connections as the
backend's sessions need, keeping shared what can be shared (an HTTP connection pool, an
in-process server's lifespan). The kinds: `http` (streamable HTTP), `sse` (the legacy HTTP+SSE
transport), `stdio` (a child process per session), `module` (a FastMCP server in this process)
and `openapi` (a REST API behind an in-process server built from its document).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway.config import BackendConfig
from gateway.egress import Egress
from gateway.resilience.observe import Observation
from gateway.upstream.http import USER_AGENT

if TYPE_CHECKING:  # the hot HTTP hop is loaded by the links that use it
    from gateway.upstream.wire import Wire

Streams = tuple[Any, Any]
"""(read stream, write stream) as the SDK's transports yield them."""


class HopIdentity:
    """What a transport connection learnt about its session: the id the backend gave it
    (streamable HTTP, handshake era; None otherwise)."""

    def __init__(self) -> None:
        self.session_id: str | None = None


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
    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        """A new transport connection (entered by the session that owns it); what it learns of
        its session goes in `hop`."""

    @property
    def wire(self) -> Wire | None:
        """The raw hop requests take (streamable HTTP links), else None: the SDK session carries them."""
        return None

    def describe(self) -> str:
        """Where the backend is, safe to show (no credentials)."""
        return self.kind


def backend_headers(config: BackendConfig) -> dict[str, str]:
    """The headers every request to this backend carries: its own credentials, nothing of a caller's."""
    headers = {"user-agent": USER_AGENT}
    headers.update({k: v.get_secret_value() for k, v in config.headers.items()})
    if config.bearer_token is not None:
        headers["authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    return headers


async def check_url_egress(egress: Egress, config: BackendConfig) -> None:
    """Raise `EgressError` unless the backend's URL points where `egress` allows."""
    parts = urlsplit(config.url or "")
    if parts.hostname is not None:
        await egress.check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
