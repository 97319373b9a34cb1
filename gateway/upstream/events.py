"""A backend's event channel: the session that holds the gateway's resource subscriptions.

Subscriptions live on a backend session, so the gateway keeps one session per backend for them
(outside the request pool, so no request can close it under them) and subscribes each URI once,
however many clients want it. On the handshake era that is `resources/subscribe` and
`unsubscribe`; on the 2026-07-28 era it is one `subscriptions/listen` stream, reopened when the
set of URIs changes, which also carries the backend's `list_changed` events. When the session
dies, the channel reopens it and subscribes again, so clients keep their subscriptions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from mcp.client.subscriptions import listen
from mcp.shared.exceptions import MCPError

from gateway.errors import BackendError
from gateway.tasks import TaskHost
from gateway.upstream.session import BackendSession

logger = logging.getLogger("gateway.events")

SessionOpener = Callable[[], Awaitable[BackendSession]]
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)


class EventChannel:
    """The subscriptions the gateway holds on one backend."""

    def __init__(self, backend: str, open_session: SessionOpener, tasks: TaskHost, *, timeout: float) -> None:
        self.backend = backend
        self._open_session = open_session
        self._tasks = tasks
        self._timeout = timeout
        self._session: BackendSession | None = None
        self._uris: set[str] = set()
        self._lock = anyio.Lock()
        self._listen_scope: anyio.CancelScope | None = None

    @property
    def uris(self) -> frozenset[str]:
        """The backend URIs currently subscribed."""
        return frozenset(self._uris)

    async def subscribe(self, uri: str) -> None:
        """Subscribe to one backend URI (once)."""
        async with self._lock:
            if uri in self._uris:
                return
            session = await self._ensure_session()
            if session.modern:
                self._uris.add(uri)
                self._restart_listen(session)
            else:
                await session.request("resources/subscribe", {"uri": uri}, timeout=self._timeout)
                self._uris.add(uri)

    async def unsubscribe(self, uri: str) -> None:
        """Drop one backend URI."""
        async with self._lock:
            if uri not in self._uris:
                return
            self._uris.discard(uri)
            session = self._session
            if session is None or not session.alive:
                return
            if session.modern:
                self._restart_listen(session)
            else:
                try:
                    await session.request("resources/unsubscribe", {"uri": uri}, timeout=self._timeout)
                except (BackendError, MCPError) as error:
                    logger.debug("backend %s: unsubscribe %s failed: %s", self.backend, uri, error)

    async def _ensure_session(self) -> BackendSession:
        session = self._session
        if session is not None and session.alive:
            return session
        session = await self._open_session()
        self._session = session
        self._tasks.start_soon(self._watch, session, name=f"events-{self.backend}")
        return session

    async def _watch(self, session: BackendSession) -> None:
        """Wait for the session to end; then reopen it and subscribe again."""
        await session.wait_closed()
        if self._session is not session or not self._uris:
            return
        for delay in RECONNECT_DELAYS * 3:
            await anyio.sleep(delay)
            try:
                async with self._lock:
                    fresh = await self._ensure_session()
                    if fresh.modern:
                        self._restart_listen(fresh)
                    else:
                        for uri in sorted(self._uris):
                            await fresh.request("resources/subscribe", {"uri": uri}, timeout=self._timeout)
                logger.info(
                    "backend %s: event channel restored (%d subscriptions)", self.backend, len(self._uris)
                )
                return
            except (BackendError, MCPError) as error:
                logger.debug("backend %s: event channel not restored yet: %s", self.backend, error)
        logger.warning("backend %s: gave up restoring resource subscriptions", self.backend)

    def _restart_listen(self, session: BackendSession) -> None:
        if self._listen_scope is not None:
            self._listen_scope.cancel()
        scope = anyio.CancelScope()
        self._listen_scope = scope
        self._tasks.start_soon(
            self._listen, session, scope, sorted(self._uris), name=f"listen-{self.backend}"
        )

    async def _listen(self, session: BackendSession, scope: anyio.CancelScope, uris: list[str]) -> None:
        client_session = session.client_session
        if client_session is None:
            return
        caps = session.server_capabilities
        with scope:
            try:
                async with listen(
                    client_session,
                    tools_list_changed=bool(caps and caps.tools and caps.tools.list_changed),
                    prompts_list_changed=bool(caps and caps.prompts and caps.prompts.list_changed),
                    resources_list_changed=bool(caps and caps.resources and caps.resources.list_changed),
                    resource_subscriptions=uris,
                ) as subscription:
                    async for event in subscription:
                        # Events also reach the session's notification path, which routes them.
                        logger.debug("backend %s: %s", self.backend, event)
            except Exception as error:  # the stream ended; the session watcher restores it
                logger.debug("backend %s: listen stream ended: %s", self.backend, error)

    async def aclose(self) -> None:
        """Stop listening and close the channel's session."""
        if self._listen_scope is not None:
            self._listen_scope.cancel()
        session, self._session = self._session, None
        self._uris.clear()
        if session is not None:
            await session.aclose()
