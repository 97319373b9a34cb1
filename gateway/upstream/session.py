"""One live MCP session to a backend, kept open and relaying raw JSON-RPC.

A `BackendSession` is opened once and reused for many requests (never one per call). It runs
in a task of its own, because an MCP client session's task group must be entered and left by
the same task, while requests arrive on many tasks. Requests and results cross it as raw
JSON-RPC dictionaries: the gateway relays what the backend said, field for field, without
parsing it into models and printing it back.

Traffic the backend sends toward its client goes to whoever holds the session (`caller`): log
messages and server→client requests (sampling, elicitation, roots). Change notifications
(`list_changed`, `resources/updated`) are the backend's, not a caller's: the `on_event` hook.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Literal

import anyio
import mcp_types
from mcp.client._probe import negotiate_auto
from mcp.client.session import ClientSession
from mcp.shared.dispatcher import DispatchContext, ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp.shared.transport_context import TransportContext
from mcp_types.version import LATEST_MODERN_VERSION, MODERN_PROTOCOL_VERSIONS

from gateway.errors import (
    BackendRejected,
    BackendSessionLost,
    BackendTimeout,
    BackendUnavailable,
    ClientUnreachable,
    GatewayError,
    to_mcp_error,
)
from gateway.methods import BACKEND_EVENTS
from gateway.resilience.observe import ATTEMPT_HEADER
from gateway.resilience.phases import Phase
from gateway.tasks import TaskHost
from gateway.upstream import hop
from gateway.upstream.caller import Caller
from gateway.upstream.failures import TRANSPORT_ERRORS, describe_failure, sdk_says
from gateway.upstream.links.base import HopIdentity, Link

if TYPE_CHECKING:
    from gateway.upstream.wire import Wire

logger = logging.getLogger("gateway.session")

CLIENT_INFO = mcp_types.Implementation(name="mcp-orchestration-gateway", version="0.1.0")
Era = Literal["legacy", "modern"]
"""The handshake era (2025-11-25 and older: `initialize`, sessions, pushes) or 2026-07-28."""
EventHook = Callable[["BackendSession", str, Mapping[str, Any] | None], Awaitable[None]]

_ids = itertools.count(1)


class _WatchedDispatcher(JSONRPCDispatcher[Any]):
    """A JSON-RPC dispatcher that reports when its channel closes."""

    def __init__(self, read_stream: Any, write_stream: Any, on_close: Callable[[], None]) -> None:
        super().__init__(read_stream, write_stream)
        self._on_close = on_close

    async def run(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().run(*args, **kwargs)
        finally:
            self._on_close()


class _RelayClientSession(ClientSession):
    """A client session that hands server-sent traffic to the `BackendSession` untouched."""

    def __init__(self, owner: BackendSession, dispatcher: JSONRPCDispatcher[Any]) -> None:
        super().__init__(dispatcher=dispatcher, client_info=CLIENT_INFO)
        self._owner = owner

    def _build_capabilities(self, version: str) -> mcp_types.ClientCapabilities:
        return self._owner.client_capabilities

    async def _on_request(
        self, dctx: DispatchContext[TransportContext], method: str, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return await self._owner._server_request(method, params)

    async def _on_notify(
        self, dctx: DispatchContext[TransportContext], method: str, params: Mapping[str, Any] | None
    ) -> None:
        await self._owner._server_notification(method, params)


class BackendSession:
    """A persistent session to one backend, with the caller it currently serves."""

    def __init__(
        self,
        backend: str,
        link: Link,
        *,
        era: Era | Literal["auto"],
        connect_timeout: float,
        on_event: EventHook,
        capabilities: mcp_types.ClientCapabilities,
    ) -> None:
        self.backend = backend
        self.client_capabilities = capabilities
        """What the gateway tells the backend its client can do (what it relays for that client)."""
        self.id = next(_ids)
        self.caller: Caller | None = None
        self.owner_key: str | None = None
        """The client session this backend session belongs to (`per_client`), else None."""
        self.listing: Any = None
        """What the backend lists on this very session (`per_client` backends), once fetched."""
        self.on_wait: Callable[[bool], None] | None = None
        """Told when a request here waits on its client (True) and stops (False): a pool lets another in."""
        self._link = link
        self._era = era
        self._connect_timeout = connect_timeout
        self._on_event = on_event
        self._session: _RelayClientSession | None = None
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._done = anyio.Event()
        self._failure: BaseException | None = None
        self._lost = False
        self._scope = anyio.CancelScope()
        self._hop = HopIdentity()

    def __repr__(self) -> str:
        return f"<BackendSession {self.backend}#{self.id} {'alive' if self.alive else 'closed'}>"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self, task_group: TaskHost) -> None:
        """Start the session's task and wait until the handshake is done."""
        task_group.start_soon(self._run, name=f"backend-session-{self.backend}-{self.id}")
        with anyio.move_on_after(self._connect_timeout) as scope:
            await self._ready.wait()
        if scope.cancelled_caught:
            self._scope.cancel()
            raise BackendUnavailable(self.backend, f"no handshake within {self._connect_timeout:g}s")
        if self._failure is not None:
            raise BackendUnavailable(self.backend, describe_failure(self._failure)) from None

    async def _run(self) -> None:
        with self._scope:
            try:
                async with AsyncExitStack() as stack:
                    read, write = await stack.enter_async_context(self._link.connect(self._hop))
                    dispatcher = _WatchedDispatcher(read, write, on_close=self._mark_lost)
                    session = await stack.enter_async_context(_RelayClientSession(self, dispatcher))
                    await self._negotiate(session)
                    if (
                        self._link.wire is not None
                        and session.protocol_version not in MODERN_PROTOCOL_VERSIONS
                    ):
                        # Requests bypass the SDK's transport from here: a ping through it first
                        # means the backend has had `notifications/initialized` (sent before it)
                        # when the first request arrives.
                        await session.send_ping()
                    self._session = session
                    self._ready.set()
                    await self._stop.wait()
            except Exception as error:  # recorded for open(); the session's task ends quietly
                if not self._ready.is_set():
                    self._failure = error
                else:
                    logger.warning(
                        "backend %s session #%s ended: %s", self.backend, self.id, describe_failure(error)
                    )
            finally:
                self._lost = True
                self._session = None
                self._ready.set()
                self._done.set()

    async def _negotiate(self, session: ClientSession) -> None:
        """Open the era asked for; a backend that speaks only the other one gets that one
        (`era` then says which it was)."""
        if self._era == "auto":
            await negotiate_auto(session)
        elif self._era == "legacy":
            try:
                await session.initialize()
            except MCPError as error:
                if error.code != mcp_types.UNSUPPORTED_PROTOCOL_VERSION:
                    raise
                await _discover(session)  # a 2026-only backend: it said which versions it speaks
        else:
            try:
                await _discover(session)
            except MCPError:
                await session.initialize()  # a handshake-era backend: discover is not its method

    def _mark_lost(self) -> None:
        self._lost = True
        self._stop.set()

    async def aclose(self) -> None:
        """End the session (the backend sees it close) and wait for its task."""
        self._stop.set()
        with anyio.move_on_after(5):
            await self._done.wait()
        self._scope.cancel()
        await self._done.wait()

    async def wait_closed(self) -> None:
        """Return once the session has ended (for whatever reason)."""
        await self._done.wait()

    @property
    def client_session(self) -> ClientSession | None:
        """The SDK session underneath (for protocol drivers such as `subscriptions/listen`)."""
        return self._session

    @property
    def alive(self) -> bool:
        """Open and usable."""
        return self._session is not None and not self._lost

    @property
    def modern(self) -> bool:
        """Whether the backend leg negotiated the stateless 2026-07-28 era."""
        session = self._session
        return session is not None and session.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def era(self) -> Era:
        """The era this session speaks."""
        return "modern" if self.modern else "legacy"

    @property
    def protocol_version(self) -> str | None:
        """The negotiated protocol version."""
        return self._session.protocol_version if self._session is not None else None

    @property
    def server_capabilities(self) -> mcp_types.ServerCapabilities | None:
        """What the backend said it can do."""
        return self._session.server_capabilities if self._session is not None else None

    @property
    def instructions(self) -> str | None:
        """The backend's instructions for clients."""
        return self._session.instructions if self._session is not None else None

    def remember_tool_schemas(self, header_maps: Mapping[str, dict[tuple[str, ...], str]]) -> None:
        """Teach the session which tool arguments travel as `Mcp-Param-*` headers (2026 wire)."""
        if self._session is not None:
            self._session._x_mcp_header_maps.update(header_maps)

    # -- requests --------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        *,
        timeout: float,
        on_progress: ProgressFnT | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return the backend's raw result (`headers`: extra HTTP headers).

        Raises `BackendUnavailable` when the session is already gone (nothing was sent),
        `BackendSessionLost` when it dies with the request in flight, `BackendTimeout` when
        no answer comes in time (the dispatcher then cancels the request at the backend), and
        `MCPError` for the backend's own JSON-RPC errors.
        """
        session = self._session
        if session is None or self._lost:
            raise BackendUnavailable(self.backend, "session is closed")
        data: dict[str, Any] = {"method": method}
        if params is not None:
            data["params"] = dict(params)
        opts: dict[str, Any] = {"timeout": timeout}
        session._stamp(data, opts)  # type: ignore[arg-type]  # era headers and _meta, as the SDK does
        wire = self._link.wire
        if wire is not None:
            return await self._on_wire(wire, method, data, opts, on_progress, headers)
        if on_progress is not None:
            opts["on_progress"] = on_progress
        attempt = secrets.token_hex(8)
        extra = opts.setdefault("headers", {})
        extra[ATTEMPT_HEADER] = attempt
        if headers:
            extra.update(headers)
        try:
            return await session._dispatcher.send_raw_request(method, data.get("params"), opts)  # type: ignore[arg-type]
        except MCPError as error:
            self._raise_observed(attempt)
            if error.code == mcp_types.INVALID_REQUEST and error.error.message == "Session terminated":
                # The backend restarted and forgot this session: the request was refused unrun.
                self._mark_lost()
                raise BackendUnavailable(self.backend, "the backend no longer knows this session") from None
            if self._lost or sdk_says(error, mcp_types.CONNECTION_CLOSED, "Connection closed"):
                self._mark_lost()
                raise BackendSessionLost(self.backend, "the session closed before it answered") from None
            if sdk_says(error, mcp_types.REQUEST_TIMEOUT, f"Request {method!r} timed out"):
                raise BackendTimeout(self.backend, f"no answer to {method} within {timeout:g}s") from None
            raise  # the backend's own error, whatever its code, as it said it
        except TRANSPORT_ERRORS as error:
            self._raise_observed(attempt)
            self._mark_lost()
            raise BackendSessionLost(self.backend, describe_failure(error)) from None

    async def _on_wire(
        self,
        wire: Wire,
        method: str,
        data: dict[str, Any],
        opts: dict[str, Any],
        on_progress: ProgressFnT | None,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """The request on the link's wire (`gateway.upstream.hop`), in this session."""
        try:
            return await hop.call(
                wire,
                method,
                data.get("params") or {},
                {**opts.get("headers", {}), **(headers or {})},
                session_id=self._hop.session_id,
                timeout=opts["timeout"],
                on_progress=on_progress,
                on_request=self._server_request,
                on_notification=self._server_notification,
            )
        except BackendUnavailable:  # not sent: the backend is down, or forgot this session
            self._mark_lost()
            raise

    def _raise_observed(self, attempt: str) -> None:
        """Raise the failure the HTTP transport saw for this attempt, if it saw one."""
        seen = self._link.observed(attempt)
        if seen is None:
            return
        if seen.phase is Phase.NOT_SENT:
            self._mark_lost()
            raise BackendUnavailable(self.backend, f"not sent ({seen.detail})")
        if seen.phase is Phase.REFUSED:
            after = f", retry after {seen.retry_after:g}s" if seen.retry_after is not None else ""
            raise BackendRejected(
                self.backend, f"refused the request ({seen.detail}{after})", retry_after=seen.retry_after
            )
        raise BackendSessionLost(self.backend, f"no usable answer ({seen.detail})")

    async def notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        """Send a notification to the backend (best effort)."""
        session = self._session
        if session is None:
            return
        data: dict[str, Any] = {"method": method}
        if params is not None:
            data["params"] = dict(params)
        opts: dict[str, Any] = {}
        session._stamp(data, opts)  # type: ignore[arg-type]
        await session._dispatcher.notify(method, data.get("params"), opts)  # type: ignore[arg-type]

    # -- traffic from the backend ----------------------------------------------------------

    async def _server_request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if method == "ping":
            return {}
        on_wait = self.on_wait
        try:
            caller = self.caller
            if caller is None:
                raise ClientUnreachable(f"no client is waiting on this session to answer {method}")
            if on_wait is not None:
                on_wait(True)
            return await caller.request(method, params)
        except GatewayError as error:  # the answer goes back to the backend as a JSON-RPC error
            raise to_mcp_error(error) from None
        finally:
            if on_wait is not None:
                on_wait(False)

    async def _server_notification(self, method: str, params: Mapping[str, Any] | None) -> None:
        if method == "notifications/message":
            caller = self.caller
            if caller is not None and params is not None:
                await caller.log(params)
            else:
                logger.debug("backend %s log with no caller: %s", self.backend, params)
            return
        if method in BACKEND_EVENTS:
            await self._on_event(self, method, params)


async def _discover(session: ClientSession) -> None:
    raw = await session.send_discover(LATEST_MODERN_VERSION)
    session.adopt(mcp_types.DiscoverResult.model_validate(raw))
