"""`FastCaller`: a fast-path request (`gateway.relay.fast`) as the `Requester` dispatch serves.

What the backend sends during the call reaches the client on the request's own response
(`Answer`): progress under the client's token, and log messages at the level the client asked
for (a handshake-era session's `logging/setLevel`, a 2026-07-28 request's own opt-in), and, in
a handshake-era session, what the backend asks the client (sampling, elicitation, roots:
`gateway.relay.asks`). A request the client did not declare, or one a 2026-07-28 request cannot
carry, is refused as the full relay refuses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import mcp_types
import orjson
from mcp.server.connection import Connection
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from gateway.errors import ClientUnreachable
from gateway.principal import Principal
from gateway.relay.answer import Answer
from gateway.relay.asks import Asks
from gateway.relay.callers import LOG_LEVEL_STATE_KEY, LOG_SEVERITY, SessionCaller
from gateway.relay.targets import Target
from gateway.upstream.caller import Caller, undeclared

_capabilities: dict[bytes, mcp_types.ClientCapabilities] = {}
"""Declared capabilities by their JSON: most clients declare the same few sets."""
MAX_CACHED_CAPABILITIES = 256


class FastCaller:
    """One fast-path request, as dispatch and the backend session see its client."""

    target: Target | None = None
    """Where the request goes (set once the caller's view has been consulted)."""
    answer: Answer | None = None
    """The response being written."""
    asks: Asks | None = None
    """Where the client's answers to a backend's questions come back (a handshake-era session)."""

    def __init__(
        self,
        principal: Principal,
        params: Mapping[str, Any],
        version: str,
        *,
        key: str,
        session_id: str | None,
        connection: Connection | None,
        capabilities: mcp_types.ClientCapabilities | None,
    ) -> None:
        self.principal = principal
        self.version = version
        self.session_id = session_id
        self._key = key
        self._connection = connection
        self._capabilities = capabilities
        meta = params.get("_meta")
        self._meta: Mapping[str, Any] = meta if isinstance(meta, dict) else {}
        self.relayed = False

    @classmethod
    def stateless(cls, principal: Principal, params: Mapping[str, Any], version: str) -> FastCaller:
        """A 2026-07-28 request: no session; its capabilities travel in its `_meta`."""
        meta = params.get("_meta")
        declared = meta.get(mcp_types.CLIENT_CAPABILITIES_META_KEY) if isinstance(meta, dict) else None
        return cls(
            principal,
            params,
            version,
            key=f"request-{id(params):x}",
            session_id=None,
            connection=None,
            capabilities=_parsed(declared if isinstance(declared, dict) else {}),
        )

    @classmethod
    def in_session(
        cls,
        principal: Principal,
        params: Mapping[str, Any],
        version: str,
        session_id: str,
        connection: Connection,
    ) -> FastCaller:
        """A request in a handshake-era session the gateway knows."""
        return cls(
            principal,
            params,
            version,
            key=session_id,
            session_id=session_id,
            connection=connection,
            capabilities=connection.client_capabilities,
        )

    # -- the Caller protocol -------------------------------------------------------------------

    @property
    def key(self) -> str:
        return self._key

    @property
    def modern(self) -> bool:
        return self.version in MODERN_PROTOCOL_VERSIONS

    @property
    def bindable(self) -> bool:
        return not self.modern

    @property
    def capabilities(self) -> mcp_types.ClientCapabilities | None:
        return self._capabilities

    async def log(self, params: Mapping[str, Any]) -> None:
        level = params.get("level")
        if not isinstance(level, str) or level not in LOG_SEVERITY:
            return
        minimum = self.log_level
        if not minimum or LOG_SEVERITY[level] < LOG_SEVERITY.get(minimum, 0):
            return
        notice: dict[str, Any] = {"level": level, "data": params.get("data")}
        if params.get("logger") is not None:
            notice["logger"] = params["logger"]
        await self._notify("notifications/message", notice)

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        answer, asks = self.answer, self.asks
        if self.session_id is None or answer is None or asks is None or answer.finished:
            raise ClientUnreachable(f"the client's connection cannot carry a server request ({method})")
        missing = undeclared(self._capabilities, method, params)
        if missing is not None:
            raise ClientUnreachable(f"the client did not declare {missing}: {method} is not sent to it")
        self.relayed = True  # the question is part of what the client has seen of this call
        return await asks.ask(self.session_id, answer, method, params)

    def detached(self) -> Caller:
        if self._connection is None:
            return self
        return SessionCaller(self._connection, self._key, self.principal)

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        if self._connection is not None:
            self._connection.exit_stack.push_async_callback(callback)

    # -- the Requester protocol ----------------------------------------------------------------

    @property
    def progress_token(self) -> mcp_types.ProgressToken | None:
        token = self._meta.get("progressToken")
        return token if isinstance(token, str | int) and not isinstance(token, bool) else None

    @property
    def log_level(self) -> str:
        asked = self._meta.get(mcp_types.LOG_LEVEL_META_KEY)
        if isinstance(asked, str):
            return asked
        if self.modern or self._connection is None:
            return ""
        return str(self._connection.state.get(LOG_LEVEL_STATE_KEY, "debug"))

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        token = self.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._notify("notifications/progress", params)

    async def _notify(self, method: str, params: dict[str, Any]) -> None:
        if self.answer is None or self.answer.finished:
            return
        self.relayed = True
        await self.answer.notify({"jsonrpc": "2.0", "method": method, "params": params})


def _parsed(declared: Mapping[str, Any]) -> mcp_types.ClientCapabilities:
    key = orjson.dumps(declared, option=orjson.OPT_SORT_KEYS)
    found = _capabilities.get(key)
    if found is None:
        found = mcp_types.ClientCapabilities.model_validate(declared)
        if len(_capabilities) >= MAX_CACHED_CAPABILITIES:
            _capabilities.clear()
        _capabilities[key] = found
    return found
