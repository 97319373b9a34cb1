"""`FrontSessions`: the handshake-era client sessions the relay has served, while they are open.

The relay remembers a session from its first request until its connection closes, to send it
notifications and to serve its calls on the fast path. Whether a session is open is the SDK's
server's to say, though: a session its client ended (DELETE) is gone from the server at once,
while its connection closes a little later; and the server serves a session only to whom it
opened it for (the same client, issuer and subject). `serving` asks the server's session manager
(`watch` is given FastMCP's MCP endpoint, whose manager is made as the app starts).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.connection import Connection


class FrontSessions:
    """The handshake-era client sessions currently connected, by key."""

    def __init__(self) -> None:
        self._by_key: weakref.WeakValueDictionary[str, Connection] = weakref.WeakValueDictionary()
        self._on_close: list[Callable[[str], Any]] = []
        self._endpoint: Any = None

    def remember(self, key: str, connection: Connection) -> None:
        """Note a session (idempotent); it is forgotten when its connection closes."""
        if connection.state.get("gateway.remembered"):
            return
        connection.state["gateway.remembered"] = True
        self._by_key[key] = connection

        async def forget() -> None:
            self._by_key.pop(key, None)
            for callback in self._on_close:
                result = callback(key)
                if hasattr(result, "__await__"):
                    await result

        connection.exit_stack.push_async_callback(forget)

    def on_close(self, callback: Callable[[str], Any]) -> None:
        """Run `callback(key)` whenever a session closes."""
        self._on_close.append(callback)

    def watch(self, endpoint: Any) -> None:
        """The HTTP front's MCP endpoint, whose session manager says which sessions are open."""
        self._endpoint = endpoint

    def get(self, key: str) -> Connection | None:
        """The connection of a session, if it is still open."""
        return self._by_key.get(key)

    def serving(self, key: str, user: Any) -> Connection | None:
        """The connection of a session the SDK's server still serves to `user` (the request's
        ASGI user), if the relay has served it."""
        connection = self._by_key.get(key)
        if connection is None or self._endpoint is None:
            return connection
        manager = self._endpoint.session_manager
        if manager is None or key not in manager._server_instances:
            return None
        requestor = authorization_context(user) if isinstance(user, AuthenticatedUser) else None
        return connection if requestor == manager._session_owners.get(key) else None

    def open_keys(self) -> list[str]:
        """Keys of every open session."""
        return list(self._by_key.keys())

    def __len__(self) -> int:
        return len(self._by_key)
