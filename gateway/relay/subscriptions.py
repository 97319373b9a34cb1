"""Resource subscriptions through the gateway: who wants which resource, and who holds it.

A client subscribes to a front URI. For a `per_client` backend the subscription goes to that
client's own backend session, and updates arriving there belong to that client alone. For a
pooled backend the gateway subscribes once on the backend's event channel, however many
clients subscribe, counts subscribers per URI, and unsubscribes at the backend when the last
one leaves (or its session closes). 2026-07-28 clients subscribe by opening a
`subscriptions/listen` stream naming the URIs; the stream counts as one subscriber.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import ListenHandler, SubscriptionBus
from mcp_types import SubscriptionsListenRequestParams, SubscriptionsListenResult

from gateway.errors import NotFound, to_mcp_error
from gateway.relay.notify import Notifier
from gateway.routing.directory import Directory
from gateway.routing.index import Route
from gateway.routing.naming import front_uri

logger = logging.getLogger("gateway.subscriptions")

LISTENER_PREFIX = "listen:"
CLEANUP_TIMEOUT = 5.0
_listener_ids = itertools.count(1)


class SubscriptionHub:
    """Subscriptions by front URI, and the backend subscriptions behind them."""

    def __init__(self, directory: Directory, notifier: Notifier) -> None:
        self._directory = directory
        self._notifier = notifier
        self._subscribers: dict[str, set[str]] = {}
        self._held: dict[str, tuple[str, str]] = {}
        """front URI → (backend, backend URI) subscribed on the backend's event channel."""

    def subscribers(self, front: str) -> set[str]:
        """Session keys and listener ids subscribed to a front URI."""
        return set(self._subscribers.get(front, ()))

    async def add(self, key: str, front: str, backend: str, backend_uri: str) -> None:
        """Subscribe `key` to `front` (served by `backend` as `backend_uri`)."""
        keys = self._subscribers.setdefault(front, set())
        first = not keys
        keys.add(key)
        if first:
            try:
                await self._directory.backends[backend].events().subscribe(backend_uri)
            except BaseException:
                keys.discard(key)
                if not keys:
                    del self._subscribers[front]
                raise
            self._held[front] = (backend, backend_uri)

    async def remove(self, key: str, front: str) -> None:
        """Unsubscribe `key`; the last subscriber leaving ends the backend subscription."""
        keys = self._subscribers.get(front)
        if keys is None or key not in keys:
            return
        keys.discard(key)
        if keys:
            return
        del self._subscribers[front]
        held = self._held.pop(front, None)
        if held is not None:
            backend, backend_uri = held
            owner = self._directory.backends.get(backend)
            if owner is not None:
                await owner.events().unsubscribe(backend_uri)

    async def drop(self, key: str) -> None:
        """A session closed: remove all its subscriptions."""
        for front in [f for f, keys in self._subscribers.items() if key in keys]:
            await self.remove(key, front)

    async def backend_updated(self, backend: str, owner_key: str | None, backend_uri: str) -> None:
        """Route a backend's `resources/updated` to the clients subscribed to it."""
        namespace = self._directory.backends[backend].namespace
        front = front_uri(namespace, backend_uri)
        if owner_key is not None:
            await self._notifier.resource_updated(front, keys=[owner_key], modern=False)
            return
        keys = self.subscribers(front)
        sessions = [k for k in keys if not k.startswith(LISTENER_PREFIX)]
        listeners = any(k.startswith(LISTENER_PREFIX) for k in keys)
        await self._notifier.resource_updated(front, keys=sessions, modern=listeners)


class GatewayListenHandler(ListenHandler):
    """`subscriptions/listen` for 2026-07-28 clients, holding backend subscriptions for the stream."""

    def __init__(
        self,
        hub: SubscriptionHub,
        bus: SubscriptionBus,
        resolve: Callable[[ServerRequestContext[Any, Any], str], Awaitable[tuple[Route, str] | None]],
    ) -> None:
        super().__init__(bus)
        self._hub = hub
        self._resolve = resolve

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        listener = f"{LISTENER_PREFIX}{next(_listener_ids)}"
        uris = list(params.notifications.resource_subscriptions or ())
        held: list[str] = []
        hub = self._hub
        try:
            for uri in uris:
                target = await self._resolve(ctx, uri)  # in the caller's view: hidden is unknown
                if target is None:
                    raise to_mcp_error(NotFound(f"Resource not found: {uri!r}"))
                route, backend_uri = target
                await hub.add(listener, uri, route.backend, backend_uri)
                held.append(uri)
            return await super().__call__(ctx, params)
        finally:
            # The stream usually ends by cancellation: release the backend subscriptions anyway.
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_TIMEOUT):
                for uri in held:
                    await hub.remove(listener, uri)
