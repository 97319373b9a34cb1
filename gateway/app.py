"""`Gateway`: the composition root, where every stage is built and wired. Nothing below imports it.

    gateway = Gateway(load_config("gateway.yaml"))
    gateway.server          # the front FastMCP server (HTTP, stdio, SSE; in-memory in tests)

The stages, bottom up: the `Fleet` of backends (upstream), the `Directory` of names over their
catalogs (routing), the `ActivePolicies` and each caller's `Visibility` (policies), `Dispatch`
(one routed request), `Workflows`, the `Relay` (MCP methods, installed as the front server's
handlers), the front (HTTP app, health, metrics) and the operator console (`/ui`). Each receives
the narrow collaborators it uses. The gateway's lifespan, run by the front server, starts every
backend and lists their catalogs in the background; the read-only properties below are for the
CLI, reload and tests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastmcp import FastMCP
from starlette.applications import Starlette

from gateway.config import GatewayConfig, LoadedConfig
from gateway.config.security import RateLimits
from gateway.dispatch.drain import Drain
from gateway.dispatch.forward import Dispatch
from gateway.errors import ConfigError
from gateway.front.health import install_health_routes, install_metrics_route
from gateway.front.http import http_app
from gateway.front.ledger import SessionLedger
from gateway.observability.metrics import BackendState, LiveState, Metrics
from gateway.policies.active import ActivePolicies
from gateway.policies.audit import AuditLog
from gateway.policies.ratelimit import RateLimiter
from gateway.policies.result_store import ResultStore
from gateway.policies.views import Views
from gateway.policies.visibility import Visibility
from gateway.principal import LOCAL, Principal
from gateway.relay.frontsessions import FrontSessions
from gateway.relay.handshake import WaitForCatalogs, describe
from gateway.relay.listcache import ListCache
from gateway.relay.notify import KINDS, Notifier
from gateway.relay.relay import Relay
from gateway.relay.subscriptions import SubscriptionHub
from gateway.routing.directory import Directory
from gateway.routing.index import RouteIndex
from gateway.routing.lockguard import LockGuard
from gateway.tasks import TaskHost
from gateway.upstream.backend import Backend
from gateway.upstream.caller import Caller
from gateway.upstream.fleet import Fleet
from gateway.upstream.session import BackendSession
from gateway.workflows.engine import Workflows

if TYPE_CHECKING:
    from gateway.console import Console, ReloadHook
    from gateway.policies.ratelimit_redis import RedisBuckets

logger = logging.getLogger("gateway")


class Gateway:
    """The gateway at run time."""

    def __init__(self, loaded: LoadedConfig) -> None:
        config = loaded.config
        self.base_dir: Path = loaded.base_dir
        self.config_path = loaded.path
        """The file the config came from (None when built from text): what hot reload watches."""
        self.shared_buckets = _shared_buckets(config.rate_limits)
        """Rate-limit buckets shared with other replicas (None: this process keeps its own)."""
        self._tasks: TaskHost | None = None
        self.reloader: ReloadHook | None = None
        """Reloads the config file now and says what it did: set while `gateway run` watches the
        file (`gateway.reload`); the console's reload button uses it."""
        self.console: Console | None = None
        """The operator console at `/ui`, once the HTTP front serves it."""
        self.drain = Drain()
        front = config.http
        self.front_sessions = SessionLedger(
            max_sessions=front.max_sessions,
            max_per_principal=front.max_sessions_per_principal,
            idle_timeout=front.session_idle_timeout,
        )
        """The handshake-era sessions the HTTP front has issued, by principal (its caps)."""
        self.sessions = FrontSessions()
        self.notifier = Notifier(self.sessions)
        self.fleet = Fleet(config, base_dir=self.base_dir, events=_FleetEvents(self))
        self.directory = Directory(self.fleet, LockGuard.for_config(config, self.base_dir))
        self.policies = ActivePolicies(config, base_dir=self.base_dir, buckets=self.shared_buckets)
        self.visibility = Visibility(self.directory, self.policies)
        self.metrics = Metrics(self._live_state)
        self.dispatch = Dispatch(
            self.directory, self.policies, drain=self.drain, metrics=self.metrics, tasks=self.task_host
        )
        self.server: FastMCP[Any] = FastMCP(
            config.gateway.name,
            instructions=config.gateway.instructions,
            lifespan=self._lifespan,
            mask_error_details=True,
            dereference_schemas=False,
        )
        ready = self.fleet.ensure_catalogs
        self.server.add_middleware(WaitForCatalogs(self.server, ready, self.instructions_for))
        self.workflows = Workflows(
            self.directory,
            policies=self.policies,
            visibility=self.visibility,
            dispatch=self.dispatch,
            metrics=self.metrics,
            ready=ready,
        )
        self.subscriptions = SubscriptionHub(self.directory, self.notifier)
        self.sessions.on_close(self.subscriptions.drop)
        self.relay = Relay(
            self.server,
            self.directory,
            visibility=self.visibility,
            policies=self.policies,
            dispatch=self.dispatch,
            workflows=self.workflows,
            sessions=self.sessions,
            subscriptions=self.subscriptions,
            bus=self.notifier.bus,
            ready=ready,
        )
        self.relay.install()
        self.list_cache = ListCache(
            index=self.relay.index, searching=self.relay.search.active, generation=self._generation
        )
        self.server._mcp_server.middleware.append(self.list_cache)
        self.directory.on_rebuilt(self._index_rebuilt)

    # -- read-only views of the stages (CLI, reload, tests) --------------------------------

    @property
    def config(self) -> GatewayConfig:
        """The configuration in force."""
        return self.policies.current.config

    @property
    def backends(self) -> dict[str, Backend]:
        return self.fleet.backends

    @property
    def index(self) -> RouteIndex:
        return self.directory.index

    @property
    def generation(self) -> int:
        return self.directory.generation

    @property
    def lock(self) -> LockGuard:
        return self.directory.lock

    @property
    def views(self) -> Views:
        return self.policies.current.views

    @property
    def limiter(self) -> RateLimiter:
        return self.policies.current.limiter

    @property
    def audit(self) -> AuditLog:
        return self.policies.current.audit

    @property
    def results(self) -> ResultStore:
        return self.policies.current.results

    def task_host(self) -> TaskHost | None:
        """Where background work runs while the gateway is up (None otherwise)."""
        return self._tasks

    def _generation(self) -> int:
        return self.directory.generation

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
            stack.push_async_callback(self.fleet.stop_all)
            if self.console is not None:
                host.start_soon(self.console.history.run, name="console-metrics")
            await self.fleet.start_all(host)
            try:
                yield {}
            finally:
                self._tasks = None

    async def wait_started(self) -> None:
        """Return once the gateway runs and has made its first attempt to list every backend."""
        await self.fleet.wait_started()

    async def ensure_catalogs(self) -> None:
        """Wait for the first listing of every backend; retry failed ones in the background."""
        await self.fleet.ensure_catalogs()

    async def start_backend(self, name: str) -> Backend:
        """Start a backend of the current config (hot reload adds one)."""
        return await self.fleet.start(name)

    async def stop_backend(self, name: str) -> None:
        """Stop a backend and forget it."""
        await self.fleet.stop(name)

    def apply_policies(self, config: GatewayConfig) -> None:
        """Adopt the views, rate limits, lockfile and audit sink of `config` (on reload)."""
        self.fleet.adopt(config)
        self.directory.lock = LockGuard.for_config(config, self.base_dir)
        self.policies.adopt(config)
        self.visibility.forget()

    def http_app(self, *, transport: Literal["http", "sse"], host: str, port: int) -> Starlette:
        """The HTTP front: MCP, the health endpoints and (unless turned off) `/metrics` and the
        console at `/ui`."""
        install_health_routes(self.server, self.fleet.backends)
        if self.config.http.metrics:
            install_metrics_route(self.server, self.metrics)
        if self.config.ui.enabled and self.console is None:
            from gateway.console import Console, ConsoleAccess, install_console  # the HTTP front's only

            self.console = Console(
                self.config.ui,
                directory=self.directory,
                policies=self.policies,
                workflows=self.workflows,
                metrics=self.metrics,
                config_path=self.config_path,
                base_dir=self.base_dir,
                reloader=lambda: self.reloader,
            )
            access = ConsoleAccess(self.config.auth)
            install_console(self.server, self.console, access, max_body=self.config.limits.max_request_bytes)
        return http_app(
            self.server,
            self.config,
            drain=self.drain,
            sessions=self.front_sessions,
            transport=transport,
            host=host,
            port=port,
            relay=self.relay,
        )

    # -- routes ----------------------------------------------------------------------------

    def rebuild_index(self) -> bool:
        """Recompute every client-visible name; True when what clients see changed."""
        return self.directory.rebuild()

    def _index_rebuilt(self) -> None:
        self.visibility.forget()
        self.relay.refresh()
        self.server._mcp_server.instructions = self.instructions_for(LOCAL)

    def instructions_for(self, principal: Principal) -> str | None:
        """The instructions `principal` gets at its handshake: the configured ones, or which
        servers its view reaches and their own instructions."""
        configured = self.config.gateway.instructions
        if configured is not None:
            return configured
        view = self.policies.current.views.view_of(principal)
        backends = self.fleet.backends.values()
        return describe(b for b in backends if view is None or view.reaches(b.namespace))

    async def index_for(self, caller: Caller) -> RouteIndex:
        """The names `caller` can use."""
        return await self.visibility.index_for(caller)

    def _live_state(self) -> LiveState:
        backends = [
            BackendState(
                name=name,
                up=backend.state == "ready" and backend.healthy,
                circuit=backend.breaker.state,
                in_flight=backend.gate.in_flight,
                sessions=len(backend.open_sessions()),
                retries=backend.stats["retries"],
                ejections=backend.breaker.ejections,
            )
            for name, backend in self.fleet.backends.items()
        ]
        return LiveState(backends, self.drain.in_flight, len(self.sessions))


class _FleetEvents:
    """What happens to backends, turned into what clients see (the index, notifications)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def catalog_changed(self, backend: Backend, kind: str, only: str | None) -> None:
        gateway = self._gateway
        if only is None:
            gateway.directory.rebuild()
        else:
            gateway.visibility.forget(only)
        gateway.notifier.list_changed([kind], only=only)

    async def health_changed(self, backend: Backend, verdict: str) -> None:
        """A backend went down for good (its tools leave the lists) or came back (they return)."""
        if verdict in ("hidden", "healthy") and self._gateway.directory.rebuild():
            self._gateway.notifier.list_changed(KINDS)

    async def resource_updated(self, backend: Backend, session: BackendSession, uri: str) -> None:
        await self._gateway.subscriptions.backend_updated(backend.name, session.owner_key, uri)

    def catalogs_loaded(self, again: bool) -> None:
        self._gateway.directory.rebuild()
        if again:
            self._gateway.notifier.list_changed(KINDS)  # backends came back: what clients see changed


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
