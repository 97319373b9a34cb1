"""Telling clients that something changed: `list_changed` and `resources/updated`.

Handshake-era clients have a session with a standalone stream; the gateway remembers each such
session (`gateway.relay.frontsessions`) from its first request until it closes, and sends it notifications
directly. 2026-07-28 clients have no session: they open `subscriptions/listen` streams, fed from
a `SubscriptionBus`.

Changes are coalesced: a burst of changes (ten backends reconnecting, a backend re-registering
twenty tools) becomes one notification per kind per client, sent after a short window.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    SubscriptionBus,
    ToolsListChanged,
)

from gateway.methods import LISTS, NOTIFIED_KINDS, RESOURCE_UPDATED
from gateway.relay.frontsessions import FrontSessions
from gateway.tasks import TaskHost

logger = logging.getLogger("gateway.notify")

DEFAULT_WINDOW = 0.05
KINDS = NOTIFIED_KINDS
_EVENTS: dict[str, ServerEvent] = {
    "tools": ToolsListChanged(),
    "prompts": PromptsListChanged(),
    "resources": ResourcesListChanged(),
}
_METHODS = {kind: LISTS[kind].changed for kind in NOTIFIED_KINDS}


class Notifier:
    """Coalesces changes and delivers them to every client that should hear of them."""

    def __init__(
        self, sessions: FrontSessions, *, bus: SubscriptionBus | None = None, window: float = DEFAULT_WINDOW
    ) -> None:
        self.sessions = sessions
        self.bus: SubscriptionBus = bus or InMemorySubscriptionBus()
        self.window = window
        self._pending: dict[str | None, set[str]] = {}
        self._tasks: TaskHost | None = None
        self._flush_scheduled = False
        self.sent = 0
        """Notifications sent so far (for tests and metrics)."""

    def attach(self, tasks: TaskHost | None) -> None:
        """Where flushes run (None: detached, changes are dropped)."""
        self._tasks = tasks

    def list_changed(self, kinds: Iterable[str], *, only: str | None = None) -> None:
        """Note that lists changed, for every client or `only` one session key."""
        self._pending.setdefault(only, set()).update(k for k in kinds if k in _METHODS)
        if not self._flush_scheduled and self._tasks is not None and self._tasks.running:
            self._flush_scheduled = True
            self._tasks.start_soon(self._flush_later, name="notify-flush")

    async def _flush_later(self) -> None:
        await anyio.sleep(self.window)
        await self.flush()

    async def flush(self) -> None:
        """Send everything pending now."""
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        everyone = pending.pop(None, set())
        if everyone:
            for kind in sorted(everyone):
                await self.bus.publish(_EVENTS[kind])
            for key in self.sessions.open_keys():
                await self._send(key, everyone)
        for only, kinds in pending.items():
            if only is not None:
                await self._send(only, kinds - everyone)

    async def _send(self, key: str, kinds: set[str]) -> None:
        connection = self.sessions.get(key)
        if connection is None:
            return
        for kind in sorted(kinds):
            await connection.notify(_METHODS[kind], None)
            self.sent += 1

    async def resource_updated(self, front_uri: str, *, keys: Iterable[str], modern: bool) -> None:
        """Tell the sessions in `keys` (and 2026 listeners when `modern`) that a resource changed."""
        for key in keys:
            connection = self.sessions.get(key)
            if connection is not None:
                await connection.notify(RESOURCE_UPDATED, {"uri": front_uri})
                self.sent += 1
        if modern:
            await self.bus.publish(ResourceUpdated(uri=front_uri))
