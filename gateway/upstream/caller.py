"""`Caller`: the client on whose behalf a backend request runs, as a backend session sees it.

Everything a backend sends toward "its client" (log messages, sampling, elicitation, roots
requests) is handed to the `Caller` that holds the backend session at that moment, so it reaches
exactly the client that caused it. The relay implements it for front clients
(`gateway.relay.callers`); `SYSTEM_CALLER` is the gateway itself (listings, health probes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import mcp_types

from gateway.errors import ClientUnreachable
from gateway.principal import LOCAL, Principal


class Caller(Protocol):
    """The receiving end of a backend's client-bound traffic."""

    @property
    def key(self) -> str:
        """Identity of the front session (stable across its requests)."""
        ...

    @property
    def modern(self) -> bool:
        """Whether the front client speaks the stateless 2026-07-28 era."""
        ...

    @property
    def bindable(self) -> bool:
        """Whether the caller has a session that a backend session can be bound to."""
        ...

    async def log(self, params: Mapping[str, Any]) -> None:
        """Deliver a `notifications/message` (raw params)."""
        ...

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Send a server→client request (sampling, elicitation, roots) and return the raw result."""
        ...

    def detached(self) -> Caller:
        """The same client outside any request (its session-wide channel)."""
        ...

    @property
    def capabilities(self) -> mcp_types.ClientCapabilities | None:
        """What the client said it can do (None: unknown, or the gateway itself)."""
        ...

    @property
    def principal(self) -> Principal:
        """Who the client is."""
        ...

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` when the client's session ends."""
        ...


class _GatewayCaller:
    """A request of the gateway's own: no client to relay anything to."""

    key: str
    modern: bool
    capabilities: mcp_types.ClientCapabilities | None
    bindable = False
    principal = LOCAL

    async def log(self, params: Mapping[str, Any]) -> None:
        logging.getLogger("gateway.backend").debug("backend log: %s", params.get("data"))

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        raise ClientUnreachable(f"{method}: no client is waiting (gateway request)")

    def detached(self) -> Caller:
        return self

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        return None


class SystemCaller(_GatewayCaller):
    """The gateway itself (listing catalogs, health probes): no client, nothing to relay to."""

    key = "gateway"
    modern = False
    capabilities = None


SYSTEM_CALLER = SystemCaller()


class PlainCaller(_GatewayCaller):
    """A client that declares nothing, as most do, in one era: the gateway opens the session
    such clients share before the first of them comes (`Backend.warm`)."""

    capabilities = mcp_types.ClientCapabilities()

    def __init__(self, *, modern: bool) -> None:
        self.modern = modern
        self.key = f"gateway-plain-{'modern' if modern else 'legacy'}"


PLAIN_CALLERS = (PlainCaller(modern=False), PlainCaller(modern=True))


def undeclared(
    capabilities: mcp_types.ClientCapabilities | None, method: str, params: Mapping[str, Any] | None
) -> str | None:
    """The capability a client must have declared for a backend's request `method`, when it did
    not (None: it did, or the request needs none). A client is never sent what it cannot take."""
    if capabilities is None:
        return None  # the gateway itself: answered elsewhere
    if method == "sampling/createMessage":
        return None if capabilities.sampling is not None else "sampling"
    if method == "roots/list":
        return None if capabilities.roots is not None else "roots"
    if method == "elicitation/create":
        elicitation = capabilities.elicitation
        if elicitation is None:
            return "elicitation"
        if (params or {}).get("mode") == "url":
            return None if elicitation.url is not None else "elicitation.url"
        # `elicitation: {}` (the 2025-06-18 form) means form elicitation
        return None if elicitation.form is not None or elicitation.url is None else "elicitation.form"
    return None
