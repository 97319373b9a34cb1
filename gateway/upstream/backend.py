"""One backend at run time: its link, its sessions, its catalog and its state.

`Backend` turns one `BackendConfig` into something requests can be sent through: it starts the
link, opens sessions through the configured strategy (pooled or per client), lists the
backend's catalog once, and keeps that catalog current when the backend announces changes.
"""

from __future__ import annotations

import fnmatch
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
from mcp.shared.inbound import x_mcp_header_map
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from gateway.config import BackendConfig
from gateway.egress import Egress, EgressError
from gateway.errors import BackendError, BackendUnavailable
from gateway.methods import CHANGED, RESOURCE_UPDATED, SIDE_EFFECT_FREE
from gateway.resilience.breaker import Breaker
from gateway.resilience.health import HealthChecker
from gateway.resilience.retry import BackendGate, Plan
from gateway.tasks import TaskHost
from gateway.upstream.caller import SYSTEM_CALLER, Caller
from gateway.upstream.catalog import Listing, fetch_kind, fetch_listing
from gateway.upstream.events import EventChannel
from gateway.upstream.links.base import Link
from gateway.upstream.links.factory import make_link
from gateway.upstream.pool import PerClientSessions, SessionPool, SessionStrategy
from gateway.upstream.session import BackendSession

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
        self.instructions: str | None = None
        self.protocol_version: str | None = None
        self._capabilities: mcp_types.ServerCapabilities | None = None
        self._on_change = on_change
        self._on_resource_updated = on_resource_updated
        self._task_group: TaskHost | None = None
        self._strategy: SessionStrategy | None = None
        self._refresh_lock = anyio.Lock()
        self._events: EventChannel | None = None
        self._refresh_pending: set[str] = set()
        self.breaker = Breaker(name, config.circuit_breaker)
        self.stats: Counter[str] = Counter(requests=0, retries=0, errors=0)
        """Requests forwarded, retries made, requests that failed at the gateway."""
        self.hidden = False
        """Down longer than `unavailable_grace`: its tools are taken out of the lists."""
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
        """Start the link and the session strategy (sessions open on first use).

        The backend's sessions and background work (health checks, reaping, refreshes) run in
        a task host of its own, so closing `stack` ends all of it: hot reload stops backends
        one by one while the gateway keeps serving.
        """
        task_group = self._task_group = TaskHost(f"backend-{self.name}")
        await task_group.start()
        stack.push_async_callback(task_group.aclose)
        await self.link.start(stack)
        if self.config.session == "per_client":
            strategy = PerClientSessions(
                self._open_session,
                stateless_pool_size=self.config.pool_size,
                idle_timeout=self.config.session_idle_timeout,
            )
            self._strategy = strategy
            task_group.start_soon(self._reap_idle, strategy, name=f"reaper-{self.name}")
        else:
            self._strategy = SessionPool(self._open_session, self.config.pool_size)
        stack.push_async_callback(self._stop)
        if self.health is not None:
            task_group.start_soon(self.health.run, name=f"health-{self.name}")

    async def _reap_idle(self, strategy: PerClientSessions) -> None:
        """Close client sessions' backend sessions that have been idle too long."""
        interval = min(60.0, self.config.session_idle_timeout / 4)
        while True:
            await anyio.sleep(interval)
            closed = await strategy.reap_idle()
            if closed:
                logger.info("backend %s: closed %d idle client sessions", self.name, closed)

    async def _stop(self) -> None:
        self.state = "stopped"
        with anyio.CancelScope(shield=True):
            if self._events is not None:
                await self._events.aclose()
                self._events = None
            if self._strategy is not None:
                await self._strategy.aclose()

    async def _open_session(self, caller: Caller | None = None) -> BackendSession:
        assert self._task_group is not None, "backend not started"
        try:
            await self.link.check()
        except EgressError as error:
            raise BackendUnavailable(self.name, str(error)) from None
        session = BackendSession(
            self.name,
            self.link,
            mode=self.config.mode,
            connect_timeout=self.config.connect_timeout,
            on_event=self._on_event,
            capabilities=caller.capabilities if caller is not None else None,
        )
        await session.open(self._task_group)
        session.remember_tool_schemas(self._header_maps)
        self.protocol_version = session.protocol_version
        self.instructions = session.instructions
        self._capabilities = session.server_capabilities
        return session

    def plan(self, method: str, backend_name: str | None) -> Plan:
        """What one request to this backend is allowed: its timeouts, and whether retries are safe."""
        config = self.config
        per_try, deadline = config.request_timeout, config.overall_deadline
        if backend_name is not None and method == "tools/call":
            for pattern, timeout in config.tool_timeouts.items():
                if fnmatch.fnmatchcase(backend_name, pattern):
                    per_try = timeout  # the tool's own try, still within the backend's deadline
                    break
        return Plan(config.retry, self.safe_to_retry(method, backend_name), min(per_try, deadline), deadline)

    def safe_to_retry(self, method: str, tool: str | None) -> bool:
        """Whether a request may be tried again after it may have run."""
        if method in SIDE_EFFECT_FREE:
            return True
        if method != "tools/call" or tool is None:
            return False
        if any(fnmatch.fnmatchcase(tool, p) for p in self.config.idempotent_tools):
            return True
        if self.config.trust_annotations and self.listing is not None:
            for item in self.listing.tools:
                if item.get("name") == tool:
                    hints = item.get("annotations") or {}
                    return bool(hints.get("readOnlyHint") or hints.get("idempotentHint"))
        return False

    @property
    def speaks_modern(self) -> bool:
        """Whether sessions to this backend negotiate 2026-07-28 (so it never pushes requests)."""
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    def count_retry(self) -> None:
        """One more retry was made."""
        self.stats["retries"] += 1

    def record_success(self) -> None:
        """A real request succeeded (it counts as a passing health probe)."""
        self.last_success = time.monotonic()

    def on_health(self, callback: Callable[[Backend, str], Awaitable[None]]) -> None:
        """Run `callback(backend, verdict)` when the health verdict changes."""
        self._on_health = callback

    @property
    def healthy(self) -> bool:
        """Not known to be unhealthy."""
        return self.health is None or self.health.verdict != "unhealthy"

    async def _probe(self, timeout: float) -> None:
        async with self.lease(SYSTEM_CALLER) as session:
            if session.modern:
                await session.request("tools/list", None, timeout=timeout)
            else:
                await session.request("ping", None, timeout=timeout)

    async def _health_changed(self, verdict: str) -> None:
        if verdict == "unhealthy":
            self.breaker.eject()
            if self._task_group is not None:
                self._task_group.start_soon(self._hide_after_grace, name=f"grace-{self.name}")
        elif verdict == "healthy":
            self.breaker.success()
            if self.hidden or self.listing is None or self.state != "ready":
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

    def capabilities(self) -> mcp_types.ServerCapabilities | None:
        """What the backend said it can do (from its latest handshake)."""
        return self._capabilities

    def lease(self, caller: Caller) -> AbstractAsyncContextManager[BackendSession]:
        """A session to serve one request of `caller`."""
        if self._strategy is None:
            raise BackendUnavailable(self.name, "not started")
        return self._strategy.lease(caller)

    def events(self) -> EventChannel:
        """The session holding this backend's resource subscriptions (opened on first use)."""
        if self._events is None:
            assert self._task_group is not None, "backend not started"
            self._events = EventChannel(
                self.name, self._open_session, self._task_group, timeout=self.config.request_timeout
            )
        return self._events

    @property
    def personal(self) -> bool:
        """Whether clients with a session see this backend through their own backend session."""
        return self.config.session == "per_client"

    async def listing_for(self, caller: Caller) -> Listing | None:
        """What this backend offers to `caller`: its own session's listing for `per_client`."""
        if not self.personal or not caller.bindable or self.state != "ready":
            return self.listing
        async with self.lease(caller) as session:
            if session.listing is None:
                session.listing = await fetch_listing(session, timeout=self.config.request_timeout)
            listing: Listing = session.listing
            return listing

    async def set_log_level(self, caller: Caller, level: str) -> None:
        """Forward a client's `logging/setLevel` to its own backend session, if it has one."""
        if not isinstance(self._strategy, PerClientSessions) or not caller.bindable:
            return
        session = self._strategy.bound_session(caller.key)
        caps = self.capabilities()
        if session is None or session.modern or (caps is not None and caps.logging is None):
            return
        async with self.lease(caller) as leased:
            await leased.request("logging/setLevel", {"level": level}, timeout=self.config.request_timeout)

    def open_sessions(self) -> list[BackendSession]:
        """The sessions currently open to this backend."""
        return self._strategy.open_sessions() if self._strategy is not None else []

    async def load_catalog(self) -> bool:
        """List everything the backend offers; on failure record why. Returns success."""
        async with self._refresh_lock:
            try:
                async with self.lease(SYSTEM_CALLER) as session:
                    listing = await fetch_listing(session, timeout=self.config.request_timeout)
            except (BackendError, MCPError) as error:
                self.state = "failed"
                self.last_error = _message(error)
                logger.warning("backend %s unavailable: %s", self.name, self.last_error)
                return False
            self._set_listing(listing)
            self.state = "ready"
            self.last_error = None
            return True

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
                async with self.lease(SYSTEM_CALLER) as session:
                    timeout = self.config.request_timeout
                    items = await fetch_kind(session, kind, timeout=timeout)
                    templates = (
                        await fetch_kind(session, "templates", timeout=timeout)
                        if kind == "resources"
                        else None
                    )
            except (BackendError, MCPError) as error:
                logger.warning("backend %s: re-listing %s failed: %s", self.name, kind, _message(error))
                return
            listing = self.listing or Listing()
            listing = replace(listing, **{kind: items})
            if templates is not None:
                listing = replace(listing, templates=templates)
            self._set_listing(listing)
        await self._on_change(self, kind, None)

    def _set_listing(self, listing: Listing) -> None:
        self.listing = listing
        self._header_maps = _header_maps(listing)
        for session in self.open_sessions():
            session.remember_tool_schemas(self._header_maps)


def _header_maps(listing: Listing) -> dict[str, dict[tuple[str, ...], str]]:
    """Which tool arguments travel as `Mcp-Param-*` headers on the 2026-07-28 wire."""
    maps: dict[str, dict[tuple[str, ...], str]] = {}
    for tool in listing.tools:
        schema, name = tool.get("inputSchema"), tool.get("name")
        if isinstance(schema, dict) and isinstance(name, str):
            header_map = x_mcp_header_map(schema)
            if header_map:
                maps[name] = header_map
    return maps


def _message(error: BaseException) -> str:
    if isinstance(error, BackendError):
        return error.message
    if isinstance(error, MCPError):
        return f"backend error {error.error.code}: {error.error.message}"
    return type(error).__name__
