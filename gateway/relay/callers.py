"""Front callers: the relay's clients, as the `Caller`s backend sessions relay to.

A `FrontCaller` wraps one inbound request of the front server: messages a backend sends during
that request ride the request's own stream (on streamable HTTP, the POST's SSE response), which
is what the MCP spec asks of request-related traffic. A `SessionCaller` is a handshake-era client
session outside any request (its standalone stream), for what a backend sends between requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import mcp_types
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from gateway.errors import ClientUnreachable
from gateway.principal import Principal, principal_of
from gateway.upstream.caller import Caller, undeclared

LOG_SEVERITY = {
    level: rank
    for rank, level in enumerate(
        ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
    )
}
LOG_LEVEL_STATE_KEY = "gateway.log_level"

# Relaying a backend's log messages is the point here, so call the SDK method underneath its
# "logging is deprecated in 2026-07-28" warning wrapper rather than warn on every message.
_send_log_message = getattr(ServerSession.send_log_message, "__wrapped__", ServerSession.send_log_message)


class FrontCaller:
    """One inbound front request, as a `Caller`."""

    def __init__(self, ctx: ServerRequestContext[Any, Any]) -> None:
        self._ctx = ctx
        self._session = ctx.session
        self._connection = ctx.session._connection
        self.principal = principal_of(ctx)
        self.relayed = False
        """Whether anything of an answer (progress, a log line, a question) already reached the client."""

    @property
    def key(self) -> str:
        return session_key(self._ctx)

    @property
    def modern(self) -> bool:
        return self._ctx.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def bindable(self) -> bool:
        return not self.modern

    @property
    def capabilities(self) -> mcp_types.ClientCapabilities | None:
        return self._session.client_capabilities

    @property
    def request_id(self) -> mcp_types.RequestId | None:
        """The front request's JSON-RPC id."""
        return self._ctx.request_id

    @property
    def progress_token(self) -> mcp_types.ProgressToken | None:
        """The progress token the client attached to this request, if any."""
        meta = (self._ctx.params or {}).get("_meta")
        token = meta.get("progressToken") if isinstance(meta, Mapping) else None
        return token if isinstance(token, str | int) and not isinstance(token, bool) else None

    @property
    def log_level(self) -> str:
        """The lowest log level this client wants from a backend request made for it.

        A handshake-era client gets every level unless it called `logging/setLevel`; a
        2026-07-28 client opts in per request (`_meta`), and its choice travels with it.
        """
        meta = (self._ctx.params or {}).get("_meta")
        if isinstance(meta, Mapping) and isinstance(meta.get(mcp_types.LOG_LEVEL_META_KEY), str):
            return str(meta[mcp_types.LOG_LEVEL_META_KEY])
        if self.modern:
            return ""
        return str(self._connection.state.get(LOG_LEVEL_STATE_KEY, "debug"))

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        """Relay backend progress under the client's own token."""
        token = self.progress_token
        if token is None:
            return
        self.relayed = True
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._session._request_outbound.notify("notifications/progress", params)

    async def log(self, params: Mapping[str, Any]) -> None:
        level = params.get("level")
        if not isinstance(level, str) or level not in LOG_SEVERITY:
            return
        if not self.modern:
            minimum = self._connection.state.get(LOG_LEVEL_STATE_KEY)
            if minimum is not None and LOG_SEVERITY[level] < LOG_SEVERITY[minimum]:
                return
        self.relayed = True
        await _send_log_message(  # applies the per-request 2026-07-28 opt-in too
            self._session,
            level=cast(mcp_types.LoggingLevel, level),
            data=params.get("data"),
            logger=params.get("logger"),
            related_request_id=self._ctx.request_id,
        )

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.modern or not self._session.can_send_request:
            raise ClientUnreachable(f"the client's connection cannot carry a server request ({method})")
        missing = undeclared(self.capabilities, method, params)
        if missing is not None:
            raise ClientUnreachable(f"the client did not declare {missing}: {method} is not sent to it")
        self.relayed = True  # the question is part of what the client has seen of this call
        return await self._session._request_outbound.send_raw_request(method, params)

    def detached(self) -> Caller:
        return SessionCaller(self._connection, self.key, self.principal)

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._connection.exit_stack.push_async_callback(callback)


class SessionCaller:
    """A handshake-era client session outside any request: its standalone stream."""

    def __init__(self, connection: Connection, key: str, principal: Principal) -> None:
        self._connection = connection
        self._key = key
        self.principal = principal

    @property
    def key(self) -> str:
        return self._key

    @property
    def modern(self) -> bool:
        return False

    @property
    def bindable(self) -> bool:
        return True

    @property
    def capabilities(self) -> mcp_types.ClientCapabilities | None:
        return self._connection.client_capabilities

    async def log(self, params: Mapping[str, Any]) -> None:
        level = params.get("level")
        minimum = self._connection.state.get(LOG_LEVEL_STATE_KEY)
        if not isinstance(level, str) or level not in LOG_SEVERITY:
            return
        if minimum is not None and LOG_SEVERITY[level] < LOG_SEVERITY[minimum]:
            return
        await self._connection.notify("notifications/message", params)

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        missing = undeclared(self.capabilities, method, params)
        if missing is not None:
            raise ClientUnreachable(f"the client did not declare {missing}: {method} is not sent to it")
        return await self._connection.send_raw_request(method, params)

    def detached(self) -> Caller:
        return self

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._connection.exit_stack.push_async_callback(callback)


def session_key(ctx: ServerRequestContext[Any, Any]) -> str:
    """A stable key for the front session a request belongs to."""
    connection = ctx.session._connection
    if connection.session_id is not None:
        return connection.session_id
    return f"connection-{id(connection):x}"
