"""One backend at run time: its link, its sessions, its catalog and its state.

`Backend` turns one `BackendConfig` into something requests can be sent through: it starts the
link, leases sessions (each client's own, or shared ones: `gateway.upstream.sessions`) in the era
that serves the caller (`gateway.upstream.eras`), lists the backend's catalog once, and keeps
that catalog current when the backend announces changes.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import anyio
import mcp_types
from mcp.shared.exceptions import MCPError

from gateway.config import BackendConfig
from gateway.egress import Egress, EgressError
from gateway.errors import BackendError, BackendUnavailable
from gateway.methods import CHANGED, RESOURCE_UPDATED
from gateway.resilience.breaker import Breaker
from gateway.resilience.health import HealthChecker
from gateway.resilience.plans import PlanBook, safe_to_retry
from gateway.resilience.retry import BackendGate, Plan
from gateway.tasks import TaskHost
from gateway.upstream.caller import PLAIN_CALLERS, SYSTEM_CALLER, Caller
from gateway.upstream.catalog import Listing, fetch_kind, fetch_listing, header_maps
from gateway.upstream.eras import Eras
from gateway.upstream.events import EventChannel
from gateway.upstream.failures import message_of
from gateway.upstream.links.base import Link
from gateway.upstream.links.factory import make_link
from gateway.upstream.session import BackendSession, Era
from gateway.upstream.sessions import FULL_CAPABILITIES, STDIO_MULTIPLEX, SessionLimits, Sessions, signature

logger = logging.getLogger("gateway.backend")

State = Literal["starting", "ready", "failed", "stopped"]
ChangeHook = Callable[["Backend", str, str | None], Awaitable[None]]
"""(backend, kind, only) — `only` is the client session key when one client's view changed."""
UpdateHook = Callable[["Backend", BackendSession, str], Awaitable[None]]


class Backend:
    """A configured backend, its sessions and what it offers."""

    def __init__(
        self,
        name: str,
        config: BackendConfig,
        *,
        namespace: str,
        base_dir: Path,
        on_change: ChangeHook,
        on_resource_updated: UpdateHook,
        egress: Egress,
    ) -> None:
        self.name = name
        self.config = config
        self.namespace = namespace
        self.link: Link = make_link(name, config, base_dir=base_dir, namespace=namespace, egress=egress)
        self.listing: Listing | None = None
        self.state: State = "starting"
        self.last_error: str | None = None
        self.eras = Eras(config.mode)
        self.catalog_caller: Caller = SYSTEM_CALLER
        """Whose session lists the catalog and answers probes: the gateway's (a one-off command's client)."""
        self._on_change = on_change
        self._on_resource_updated = on_resource_updated
        self._task_group: TaskHost | None = None
        self._sessions: Sessions | None = None
        self._pool_listings: dict[tuple[Era, str], Listing] = {}
        self._listing_key: tuple[Era, str] | None = None
        """The era and declared capabilities of the session the shared `listing` came from."""
        self._refresh_lock = anyio.Lock()
        self._events: EventChannel | None = None
        self._refresh_pending: set[str] = set()
        self.breaker = Breaker(name, config.circuit_breaker)
        self.stats: Counter[str] = Counter(requests=0, retries=0, errors=0)
        """Requests forwarded, retries made, requests that failed at the gateway."""
        self.hidden = False
        """Down longer than `unavailable_grace`: its tools are taken out of the lists."""
        self._plans = PlanBook()
        self.last_success = 0.0
        self._on_health: Callable[[Backend, str], Awaitable[None]] | None = None
        self.health = (
            HealthChecker(
                name, config.health, self._probe, self._health_changed, last_success=lambda: self.last_success
            )
            if config.health is not None
            else None
        )
        budget = config.retry.budget
        self.gate = BackendGate(
            name,
            max_concurrent=config.max_concurrent,
            percent=budget.percent,
            min_concurrency=budget.min_concurrency,
        )
        self._header_maps: dict[str, dict[tuple[str, ...], str]] = {}

    def __repr__(self) -> str:
        return f"<Backend {self.name} {self.link.describe()} {self.state}>"

    async def start(self, stack: AsyncExitStack) -> None:
        """Start the link and the session strategy (sessions open on first use). The backend's
        sessions and background work (health checks, reaping, refreshes) run in a task host of
        its own, so closing `stack` ends all of it: hot reload stops backends one by one while
        the gateway keeps serving."""
        task_group = self._task_group = TaskHost(f"backend-{self.name}")
        await task_group.start()
        stack.push_async_callback(task_group.aclose)
        await self.link.start(stack)
        config = self.config
        limits = SessionLimits(
            pool_size=config.pool_size,
            max_clients=config.client_session_limit,
            max_per_principal=config.max_client_sessions_per_principal,
            idle_timeout=config.session_idle_timeout,
            multiplex=STDIO_MULTIPLEX if config.kind == "stdio" else 1,
        )
        sessions = Sessions(self.name, self._open_session, per_client=self.personal, limits=limits)
        self._sessions = sessions
        task_group.start_soon(self._reap_idle, sessions, name=f"reaper-{self.name}")
        stack.push_async_callback(self._stop)
        if self.health is not None:
            task_group.start_soon(self.health.run, name=f"health-{self.name}")

    async def _reap_idle(self, sessions: Sessions) -> None:  # client sessions idle too long
        interval = min(60.0, self.config.session_idle_timeout / 4, SessionLimits.pool_idle_timeout / 4)
        while True:
            await anyio.sleep(interval)
            closed = await sessions.reap_idle()
            if closed:
                logger.info("backend %s: closed %d idle client sessions", self.name, closed)

    async def _stop(self) -> None:
        self.state = "stopped"
        with anyio.CancelScope(shield=True):
            if self._events is not None:
                await self._events.aclose()
                self._events = None
            if self._sessions is not None:
                await self._sessions.aclose()

    async def _open_session(self, era: Era, capabilities: mcp_types.ClientCapabilities) -> BackendSession:
        assert self._task_group is not None, "backend not started"
        try:
            await self.link.check()
        except EgressError as error:
            raise BackendUnavailable(self.name, str(error)) from None
        session = BackendSession(
            self.name,
            self.link,
            era=era,
            connect_timeout=self.config.connect_timeout,
            on_event=self._on_event,
            capabilities=capabilities,
        )
        await session.open(self._task_group)
        session.remember_tool_schemas(self._header_maps)
        self.eras.learn(era, session)
        return session

    @property
    def instructions(self) -> str | None:
        """The backend's instructions for clients (from its latest handshake)."""
        return self.eras.instructions

    @property
    def protocol_version(self) -> str | None:
        """The protocol version its latest session negotiated."""
        return self.eras.protocol_version

    def era_for(self, caller: Caller) -> Era:
        """The era a request of `caller` goes to this backend in."""
        return self.eras.for_caller(caller)

    def plan(self, method: str, tool: str | None) -> Plan:
        """What one request to this backend is allowed (`gateway.resilience.plans`)."""
        listing = self.listing
        return self._plans.plan(self.config, listing, listing.tools if listing else (), method, tool)

    def safe_to_retry(self, method: str, tool: str | None) -> bool:
        """Whether a request may be tried again after it may have run."""
        return safe_to_retry(self.config, method, tool, self.listing.tools if self.listing else ())

    def count_retry(self) -> None:
        """One more retry was made."""
        self.stats["retries"] += 1

    def record_success(self) -> None:
        """A real request succeeded (it counts as a passing health probe)."""
        self.last_success = time.monotonic()

    def on_health(self, callback: Callable[[Backend, str], Awaitable[None]]) -> None:
        """Run `callback(backend, verdict)` when the health verdict changes what clients see
        (`unhealthy`, `hidden`, `healthy` after either)."""
        self._on_health = callback

    @property
    def healthy(self) -> bool:
        """Not known to be unhealthy."""
        return self.health is None or self.health.verdict != "unhealthy"

    async def _probe(self, timeout: float) -> None:
        async with self.lease(self.catalog_caller) as session:
            await session.request("tools/list" if session.modern else "ping", None, timeout=timeout)

    async def _health_changed(self, verdict: str) -> None:
        if verdict == "unhealthy":
            self.breaker.eject()
            if self._task_group is not None:
                self._task_group.start_soon(self._hide_after_grace, name=f"grace-{self.name}")
        elif verdict == "healthy":
            self.breaker.success()
            if not (self.hidden or self.listing is None or self.state != "ready"):
                return  # its tools never left the lists: nothing to rebuild, no cache to drop
            self.hidden = False
            await self.load_catalog()
        if self._on_health is not None:
            await self._on_health(self, verdict)

    async def _hide_after_grace(self) -> None:
        await anyio.sleep(self.config.unavailable_grace)
        if not self.healthy and not self.hidden:
            self.hidden = True
            logger.warning(
                "backend %s: down for %gs, its tools leave the lists",
                self.name,
                self.config.unavailable_grace,
            )
            if self._on_health is not None:
                await self._on_health(self, "hidden")

    def capabilities(self, era: Era | None = None) -> mcp_types.ServerCapabilities | None:
        """What the backend said it can do in `era` (None: the handshake era's, if known)."""
        return self.eras.capabilities_for(era)

    def lease(self, caller: Caller) -> AbstractAsyncContextManager[BackendSession]:
        """A session to serve one request of `caller`, in the era that serves it."""
        if self._sessions is None:
            raise BackendUnavailable(self.name, "not started")
        return self._sessions.lease(caller, self.era_for(caller))

    def events(self) -> EventChannel:
        """The session holding this backend's resource subscriptions (opened on first use)."""
        if self._events is None:
            assert self._task_group is not None, "backend not started"
            era = self.era_for(SYSTEM_CALLER)
            self._events = EventChannel(
                self.name,
                lambda: self._open_session(era, FULL_CAPABILITIES),
                self._task_group,
                timeout=self.config.request_timeout,
            )
        return self._events

    @property
    def personal(self) -> bool:
        """Whether a handshake-era client gets a backend session of its own (`per_client`)."""
        return self.config.session == "per_client"

    def binds(self, caller: Caller) -> bool:
        """Whether `caller`'s requests go to a backend session of its own."""
        return self._sessions is not None and self._sessions.binds(caller, self.era_for(caller))

    async def listing_for(self, caller: Caller) -> Listing | None:
        """What this backend offers to `caller`: what its own session lists, or what a shared
        session declaring the caller's capabilities lists (the gateway's, for the gateway's)."""
        if self.state != "ready" or self._sessions is None:
            return self.listing
        era = self.era_for(caller)
        if self._sessions.binds(caller, era):
            bound = self._sessions.bound_session(caller.key)
            if bound is not None and bound.listing is not None:
                return bound.listing  # type: ignore[no-any-return]  # listed once: nothing to lease
            async with self.lease(caller) as session:
                listing = session.listing or await fetch_listing(session, timeout=self.config.request_timeout)
                session.listing = listing
                return listing
        key = self._sessions.pool_key(caller, era)
        if key == self._listing_key:
            return self.listing
        kept = self._pool_listings.get(key)
        if kept is None:
            async with self.lease(caller) as session:
                kept = await fetch_listing(session, timeout=self.config.request_timeout)
            self._pool_listings[key] = kept
        return kept

    async def set_log_level(self, caller: Caller, level: str) -> None:
        """Forward a client's `logging/setLevel` to its own backend session, if it has one."""
        session = self._bound(caller)
        caps = self.capabilities("legacy")
        if session is None or session.modern or (caps is not None and caps.logging is None):
            return
        async with self.lease(caller) as leased:
            await leased.request("logging/setLevel", {"level": level}, timeout=self.config.request_timeout)

    async def roots_changed(self, caller: Caller) -> None:
        """Tell the client's own backend session that the client's roots changed."""
        session = self._bound(caller)
        if session is not None and session.client_capabilities.roots is not None:
            await session.notify("notifications/roots/list_changed", None)

    def _bound(self, caller: Caller) -> BackendSession | None:
        if self._sessions is None or not caller.bindable:
            return None
        return self._sessions.bound_session(caller.key)

    def open_sessions(self) -> list[BackendSession]:
        """The sessions currently open to this backend."""
        return self._sessions.open_sessions() if self._sessions is not None else []

    async def load_catalog(self) -> bool:
        """List everything the backend offers; on failure record why. Returns success."""
        async with self._refresh_lock:
            try:
                async with self.lease(self.catalog_caller) as session:
                    listing = await fetch_listing(session, timeout=self.config.request_timeout)
                    self._listing_key = (session.era, signature(session.client_capabilities))
            except (BackendError, MCPError) as error:
                self.state = "failed"
                self.last_error = message_of(error)
                logger.warning("backend %s unavailable: %s", self.name, self.last_error)
                return False
            self._set_listing(listing)
            self.state = "ready"
            self.last_error = None
        return True

    async def warm(self) -> bool:
        """Open the sessions plain clients share in each era, so their first call waits for none."""
        if self.personal or self.state != "ready":
            return self.personal
        try:
            for caller in PLAIN_CALLERS:  # each era's (one, where the backend speaks one)
                await self.listing_for(caller)
            return True
        except (BackendError, MCPError) as error:  # a client's first call will try again
            logger.info("backend %s: no session for plain clients yet: %s", self.name, message_of(error))
            return False

    async def _on_event(self, session: BackendSession, method: str, params: Mapping[str, Any] | None) -> None:
        if method == RESOURCE_UPDATED:
            uri = (params or {}).get("uri")
            if isinstance(uri, str):
                await self._on_resource_updated(self, session, uri)
            return
        kind = CHANGED.get(method)
        if kind is None or self._task_group is None:
            return
        if session.owner_key is not None:
            # One client's own backend session changed: only that client's view is affected.
            session.listing = None
            await self._on_change(self, kind, session.owner_key)
            return
        if kind in self._refresh_pending:
            return  # every pooled session hears the same change: list once
        self._refresh_pending.add(kind)
        # Re-list outside the session's receive path: the listing itself uses the session.
        self._task_group.start_soon(self._refresh_kind, kind)

    async def _refresh_kind(self, kind: str) -> None:
        self._refresh_pending.discard(kind)
        async with self._refresh_lock:
            try:
                async with self.lease(self.catalog_caller) as session:
                    timeout = self.config.request_timeout
                    items = await fetch_kind(session, kind, timeout=timeout)
                    self._listing_key = (session.era, signature(session.client_capabilities))
                    templates = (
                        await fetch_kind(session, "templates", timeout=timeout)
                        if kind == "resources"
                        else None
                    )
            except (BackendError, MCPError) as error:
                logger.warning("backend %s: re-listing %s failed: %s", self.name, kind, message_of(error))
                return
            listing = self.listing or Listing()
            listing = replace(listing, **{kind: items})
            if templates is not None:
                listing = replace(listing, templates=templates)
            self._set_listing(listing)
        await self._on_change(self, kind, None)

    def _set_listing(self, listing: Listing) -> None:
        self.listing = listing
        self._pool_listings.clear()  # listings for other capability sets are fetched again
        self._header_maps = header_maps(listing)
        for session in self.open_sessions():
            session.remember_tool_schemas(self._header_maps)
