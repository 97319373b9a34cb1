"""`Gateway`: the one place where the stages are wired together.

    gateway = Gateway(load_config("gateway.yaml"))
    gateway.server          # the front FastMCP server (HTTP, stdio, SSE; in-memory in tests)

The gateway owns the backends (links, sessions, catalogs), the route index built from their
catalogs, and the relay that answers clients. Its lifespan, run by the front server, starts
every backend, lists their catalogs in the background, and closes everything on the way out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from fastmcp import FastMCP

from gateway.backend import Backend
from gateway.caller import Caller
from gateway.config import GatewayConfig, LoadedConfig
from gateway.egress import Egress
from gateway.errors import ConfigError
from gateway.lifecycle import BackendRunner
from gateway.listcache import ListCache
from gateway.lockguard import LockGuard
from gateway.metrics import Metrics
from gateway.notify import KINDS, FrontSessions, Notifier
from gateway.policies.audit import AuditLog
from gateway.policies.ratelimit import RateLimiter
from gateway.readiness import WaitForCatalogs
from gateway.relay import Relay
from gateway.result_store import ResultStore
from gateway.routes import BackendView, RouteIndex
from gateway.session import BackendSession
from gateway.subscriptions import SubscriptionHub
from gateway.tasks import TaskHost
from gateway.views import Views
from gateway.workflows.engine import Workflows

if TYPE_CHECKING:
    from gateway.config.security import RateLimits
    from gateway.policies.ratelimit_redis import RedisBuckets

logger = logging.getLogger("gateway")

RETRY_FAILED_AFTER = 5.0
STARTUP_WAIT = 60.0


class Gateway:
    """The gateway at run time."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.config: GatewayConfig = loaded.config
        self.base_dir = loaded.base_dir
        self.config_path = loaded.path
        """The file the config came from (None when built from text): what hot reload watches."""
        self.backends: dict[str, Backend] = {name: self._make_backend(name) for name in self.config.backends}
        self._runners: dict[str, BackendRunner] = {}
        self.index = RouteIndex()
        self.generation = 0
        """Bumped whenever the index is rebuilt (caches of per-client views key on it)."""
        self.sessions = FrontSessions()
        self.notifier = Notifier(self.sessions)
        self.subscriptions = SubscriptionHub(self)
        self.sessions.on_close(self.subscriptions.drop)
        self._personal: dict[str, tuple[Any, RouteIndex]] = {}
        self.has_local_components = False
        self.draining = False
        """Shutting down: new calls are refused while those in flight finish."""
        self.in_flight = 0
        """Calls being forwarded right now."""
        self.drained = anyio.Event()
        """Set when, while draining, the last call in flight has finished."""
        self.shared_buckets = _shared_buckets(self.config.rate_limits)
        """Rate-limit buckets shared with other replicas (None: this process keeps its own)."""
        self.apply_policies(self.config)
        self.metrics = Metrics(self)
        self._loaded = anyio.Event()
        self._last_attempt = 0.0
        self._tasks: TaskHost | None = None
        self.server: FastMCP[Any] = FastMCP(
            self.config.gateway.name,
            instructions=self.config.gateway.instructions,
            lifespan=self._lifespan,
            mask_error_details=True,
            dereference_schemas=False,
            middleware=[WaitForCatalogs(self)],
        )
        self.relay = Relay(self)
        self.relay.install()
        self.relay.advertise(completions=False, subscriptions=False)
        self.workflows = Workflows(self)
        self.list_cache = ListCache(self)
        self.server._mcp_server.middleware.append(self.list_cache)

    def _make_backend(self, name: str) -> Backend:
        backend = Backend(
            name,
            self.config.backends[name],
            namespace=self.config.namespace_of(name),
            base_dir=self.base_dir,
            on_change=self._on_catalog_change,
            on_resource_updated=self._on_resource_updated,
            egress=Egress(self.config.egress.allow),
        )
        backend.on_health(self._on_health)
        return backend

    def apply_policies(self, config: GatewayConfig) -> None:
        """Adopt the views, rate limits, lockfile and audit sink of `config` (at start and on reload)."""
        self.config = config
        self.views = Views(config.views, tool_scopes=config.tool_scopes)
        self.lock = LockGuard.for_config(config, self.base_dir)
        self.limiter = RateLimiter(
            config.rate_limits,
            backends={n: b.rate_limit for n, b in config.backends.items()},
            store=self.shared_buckets,
        )
        kept: ResultStore | None = getattr(self, "results", None)
        if kept is None:
            self.results = ResultStore(config.limits.result_store)
            """Oversized tool results kept for their callers (`oversized_response: resource_link`)."""
        else:
            kept.configure(config.limits.result_store)
        previous: AuditLog | None = getattr(self, "audit", None)
        if previous is None or previous.sink != config.audit.sink:
            self.audit = AuditLog(config.audit.sink, base_dir=self.base_dir)
            if previous is not None:
                previous.close()
        self._personal.clear()

    async def start_backend(self, name: str) -> Backend:
        """Create and start a backend of the current config (hot reload adds one)."""
        assert self._tasks is not None, "the gateway is not running"
        backend = self.backends.get(name)
        if backend is None:
            backend = self.backends[name] = self._make_backend(name)
        runner = self._runners[name] = BackendRunner(backend)
        await runner.start(self._tasks)
        return backend

    async def stop_backend(self, name: str) -> None:
        """Stop a backend and forget it (its sessions close, its background work ends)."""
        self.backends.pop(name, None)
        runner = self._runners.pop(name, None)
        if runner is not None:
            await runner.stop()

    async def _stop_all_backends(self) -> None:
        """At shutdown: stop every backend at once (they stay known, for reports after the run)."""
        runners, self._runners = list(self._runners.values()), {}
        async with anyio.create_task_group() as group:
            for runner in runners:
                group.start_soon(runner.stop)

    # -- lifecycle -------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, server: FastMCP[Any]) -> AsyncIterator[dict[str, Any]]:
        host = TaskHost()
        await host.start()
        async with AsyncExitStack() as stack:
            if self.shared_buckets is not None:  # closed last, after background work stopped
                stack.push_async_callback(self.shared_buckets.aclose)
            stack.push_async_callback(host.aclose)
            self._tasks = host
            self.notifier.attach(host)
            stack.callback(self.notifier.attach, None)
            stack.push_async_callback(self._stop_all_backends)
            for name in list(self.backends):
                await self.start_backend(name)
            host.start_soon(self._load_catalogs, list(self.backends.values()))
            try:
                yield {}
            finally:
                self._tasks = None

    async def _load_catalogs(self, backends: list[Backend]) -> None:
        self._last_attempt = time.monotonic()
        async with anyio.create_task_group() as group:
            for backend in backends:
                group.start_soon(backend.load_catalog)
        self.rebuild_index()
        if self._loaded.is_set():
            self.notifier.list_changed(KINDS)  # backends came back: what clients see changed
        self._loaded.set()

    async def wait_started(self) -> None:
        """Return once the gateway runs and has made its first attempt to list every backend."""
        await self._loaded.wait()

    def task_host(self) -> TaskHost | None:
        """Where background work runs while the gateway is up (None otherwise)."""
        return self._tasks

    async def ensure_catalogs(self) -> None:
        """Wait for the first listing of every backend; retry failed ones in the background."""
        if not self._loaded.is_set():
            with anyio.move_on_after(STARTUP_WAIT):
                await self._loaded.wait()
            return
        failed = [b for b in self.backends.values() if b.state == "failed"]
        if failed and self._tasks is not None and time.monotonic() - self._last_attempt > RETRY_FAILED_AFTER:
            self._last_attempt = time.monotonic()
            self._tasks.start_soon(self._load_catalogs, failed)

    # -- routes ----------------------------------------------------------------------------

    def rebuild_index(self) -> None:
        """Recompute every client-visible name from the backends' catalogs."""
        views = [
            BackendView(
                name=b.name,
                namespace=b.namespace,
                listing=b.listing,
                tools=b.config.tools,
                prompts=b.config.prompts,
                resources=b.config.resources,
            )
            for b in self.backends.values()
            if b.listing is not None and not b.hidden
        ]
        self.index = self.lock.build(views)
        self.generation += 1
        self._personal.clear()
        capabilities = [c for c in (b.capabilities() for b in self.backends.values()) if c is not None]
        self.relay.advertise(
            completions=any(c.completions is not None for c in capabilities),
            subscriptions=any(bool(c.resources and c.resources.subscribe) for c in capabilities),
        )
        for collision in self.index.collisions:
            logger.warning("name collision: %s", collision)
        if self.config.gateway.instructions is None:
            self.server._mcp_server.instructions = self.describe()

    def describe(self) -> str:
        """Instructions for clients: which servers are behind this endpoint, and their own."""
        lines = [f"This endpoint serves {len(self.backends)} MCP servers; names carry the server's prefix."]
        for backend in self.backends.values():
            prefix = f"{backend.namespace}_" if backend.namespace else "(no prefix)"
            about = backend.config.description or ""
            lines.append(f"- {backend.name}: tools and prompts named {prefix}*. {about}".rstrip())
            if backend.instructions:
                lines.append("  " + backend.instructions.strip().replace("\n", "\n  "))
        return "\n".join(lines)

    async def index_for(self, caller: Caller) -> RouteIndex:
        """The names `caller` can use: what its view allows of the shared index, or of its own
        index where a backend keeps a session per client (its listing can differ per session)."""
        namespaces = {name: b.namespace for name, b in self.backends.items()}
        return self.views.filter(await self._base_index(caller), caller.principal, namespaces)

    async def _base_index(self, caller: Caller) -> RouteIndex:
        personal = [b for b in self.backends.values() if b.personal and b.state == "ready"]
        if not personal or not caller.bindable:
            return self.index
        listings = {b.name: await b.listing_for(caller) for b in personal}
        stamp = (self.generation, tuple(id(v) for v in listings.values()))
        cached = self._personal.get(caller.key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        views = []
        for b in self.backends.values():
            listing = listings.get(b.name, b.listing)
            if listing is not None:
                views.append(
                    BackendView(
                        b.name, b.namespace, listing, b.config.tools, b.config.prompts, b.config.resources
                    )
                )
        index = self.lock.build(views, shared=False)
        self._personal[caller.key] = (stamp, index)
        return index

    async def _on_catalog_change(self, backend: Backend, kind: str, only: str | None) -> None:
        if only is None:
            self.rebuild_index()
        else:
            self._personal.pop(only, None)
        self.notifier.list_changed([kind], only=only)

    async def _on_health(self, backend: Backend, verdict: str) -> None:
        """A backend went down for good (its tools leave the lists) or came back (they return)."""
        if verdict in ("hidden", "healthy"):
            before = self.index
            self.rebuild_index()
            if self.index != before:  # a first healthy verdict changes nothing clients saw
                self.notifier.list_changed(KINDS)

    async def _on_resource_updated(self, backend: Backend, session: BackendSession, uri: str) -> None:
        await self.subscriptions.backend_updated(backend.name, session.owner_key, uri)


def _shared_buckets(config: RateLimits) -> RedisBuckets | None:
    """Rate-limit buckets in Redis when the config asks for them (redis-py loads only then)."""
    if config.redis_url is None:
        return None
    try:
        from gateway.policies.ratelimit_redis import RedisBuckets
    except ImportError:
        needs = "rate_limits.store: a redis:// store needs redis-py"
        raise ConfigError([f"{needs}: pip install 'mcp-orchestration-gateway[redis]'"]) from None

    return RedisBuckets.for_config(config)


def build_gateway(loaded: LoadedConfig) -> Gateway:
    """Build the gateway for a loaded configuration."""
    return Gateway(loaded)
