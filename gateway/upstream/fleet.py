"""`Fleet`: the backends of the current configuration, each running in a task of its own.

The fleet builds a `Backend` for every entry of `backends:`, starts each one (`BackendRunner`),
lists every catalog once in the background, and retries backends whose first listing failed
when a client asks again. Hot reload stops, adds and restarts backends one by one. What
happens to a backend that clients should hear of (its catalog changed, its health changed, a
resource it serves was updated) goes to the `FleetEvents` the fleet was built with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import anyio

from gateway.config import GatewayConfig
from gateway.egress import Egress
from gateway.tasks import TaskHost
from gateway.upstream.backend import Backend
from gateway.upstream.caller import SYSTEM_CALLER, Caller
from gateway.upstream.runner import BackendRunner
from gateway.upstream.session import BackendSession

RETRY_FAILED_AFTER = 5.0
"""Seconds between background retries of backends whose listing failed."""
STARTUP_WAIT = 60.0
"""Longest a first request waits for the first listing of every backend."""


class FleetEvents(Protocol):
    """What the fleet tells the rest of the gateway."""

    async def catalog_changed(self, backend: Backend, kind: str, only: str | None) -> None:
        """A backend's list of `kind` changed (`only`: the one client session it changed for)."""
        ...

    async def health_changed(self, backend: Backend, verdict: str) -> None:
        """A backend's health verdict changed (`healthy`, `unhealthy`, `hidden`)."""
        ...

    async def resource_updated(self, backend: Backend, session: BackendSession, uri: str) -> None:
        """A backend said that a resource it serves changed."""
        ...

    def catalogs_loaded(self, again: bool) -> None:
        """A round of listings has finished (`again`: not the first one)."""
        ...


class Fleet:
    """The running backends, by name."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        base_dir: Path,
        events: FleetEvents,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._base_dir = base_dir
        self._events = events
        self._clock = clock
        self._catalog_caller: Caller = SYSTEM_CALLER
        self.backends: dict[str, Backend] = {name: self._make(name) for name in config.backends}
        self._warmed: set[Backend] = set()
        self.warm_sessions = False
        """Whether backends open the sessions plain clients share before the gateway is ready
        (`Backend.warm`): for a serving gateway, not for a one-off command."""
        self._runners: dict[str, BackendRunner] = {}
        self._host: TaskHost | None = None
        self._loaded = anyio.Event()
        self._last_attempt = 0.0

    def _make(self, name: str) -> Backend:
        events = self._events
        backend = Backend(
            name,
            self.config.backends[name],
            namespace=self.config.namespace_of(name),
            base_dir=self._base_dir,
            on_change=events.catalog_changed,
            on_resource_updated=events.resource_updated,
            egress=Egress(self.config.egress.allow),
        )
        backend.on_health(events.health_changed)
        backend.catalog_caller = self._catalog_caller
        return backend

    def list_as(self, caller: Caller) -> None:
        """List catalogs (and probe) through the sessions `caller` uses instead of the gateway's
        own: for a one-off command whose one client is `caller`, so no other session opens."""
        self._catalog_caller = caller
        for backend in self.backends.values():
            backend.catalog_caller = caller

    def adopt(self, config: GatewayConfig) -> None:
        """Take a reloaded configuration (backends started from now on follow it)."""
        self.config = config

    # -- running ---------------------------------------------------------------------------

    async def start_all(self, host: TaskHost) -> None:
        """Start every backend in `host`, then list their catalogs in the background."""
        self._host = host
        for name in list(self.backends):
            await self.start(name)
        host.start_soon(self.load_catalogs, list(self.backends.values()))

    async def start(self, name: str) -> Backend:
        """Start a backend of the current config (a reload adds one with this)."""
        assert self._host is not None, "the fleet is not running"
        backend = self.backends.get(name)
        if backend is None:
            backend = self.backends[name] = self._make(name)
        runner = self._runners[name] = BackendRunner(backend)
        await runner.start(self._host)
        return backend

    async def stop(self, name: str) -> None:
        """Stop a backend and forget it (its sessions close, its background work ends)."""
        self.backends.pop(name, None)
        runner = self._runners.pop(name, None)
        if runner is not None:
            await runner.stop()

    async def stop_all(self) -> None:
        """At shutdown: stop every backend at once (they stay known, for reports after the run)."""
        runners, self._runners = list(self._runners.values()), {}
        async with anyio.create_task_group() as group:
            for runner in runners:
                group.start_soon(runner.stop)
        self._host = None

    # -- catalogs --------------------------------------------------------------------------

    async def load_catalogs(self, backends: list[Backend]) -> None:
        """List each of `backends` (at once), then say so."""
        self._last_attempt = self._clock()
        async with anyio.create_task_group() as group:
            for backend in backends:
                group.start_soon(self._load, backend)
        self._events.catalogs_loaded(self._loaded.is_set())
        self._loaded.set()

    async def _load(self, backend: Backend) -> None:
        loaded = await backend.load_catalog()
        if loaded and self.warm_sessions and backend not in self._warmed and await backend.warm():
            self._warmed.add(backend)

    async def wait_started(self) -> None:
        """Return once the fleet runs and has made its first attempt to list every backend."""
        await self._loaded.wait()

    async def ensure_catalogs(self) -> None:
        """Wait for the first listing of every backend; retry failed ones in the background."""
        if not self._loaded.is_set():
            with anyio.move_on_after(STARTUP_WAIT):
                await self._loaded.wait()
            return
        failed = [b for b in self.backends.values() if b.state == "failed"]
        if failed and self._host is not None and self._clock() - self._last_attempt > RETRY_FAILED_AFTER:
            self._last_attempt = self._clock()
            self._host.start_soon(self.load_catalogs, failed)
