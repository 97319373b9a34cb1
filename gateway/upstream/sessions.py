"""Which backend session serves a request: the client's own, or a shared one that holds nothing
of any client.

What a backend's session holds for its client (roots, log level, subscriptions, resources made
in the session, the capabilities the client declared, messages sent outside any request) belongs
to that client alone, as it would directly. So by default (`session: per_client`) a handshake-era
client gets a backend session of its own, opened on its first request that needs the backend and
closed with its session (or after `session_idle_timeout` without a request), declaring exactly
what the client declared.

Everything else is served from shared pools, which must hold no client state: 2026-07-28 calls
(stateless by design), and every call to a backend the operator declared stateless
(`session: pooled`). A shared handshake-era session declares no roots (a backend would keep one
client's roots for the next; a 2026-07-28 session has no state to keep them in) and otherwise
only what its callers declared: pools are keyed by era and declared capabilities, so a client
that cannot sample is never offered, or sent, what needs sampling.

Bounded: bound sessions per authenticated principal and in all
(`max_client_sessions_per_principal`, `max_client_sessions`), pools of `max_sessions` each, at most
`MAX_POOLS` capability sets per backend; past a bound the request is refused with a clear error,
never queued without end.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import anyio
import mcp_types

from gateway.errors import RequestRejected
from gateway.upstream.caller import Caller, SystemCaller
from gateway.upstream.pool import SessionPool
from gateway.upstream.session import BackendSession, Era

MAX_POOLS = 16
"""Distinct (era, capabilities) pools one backend keeps; more are refused."""

POOL_IDLE_TIMEOUT = 300.0
"""Shared sessions unused this long are closed (clients' own follow `session_idle_timeout`)."""
STDIO_MULTIPLEX = 32
"""Requests one process of a stdio backend declared stateless (`session: pooled`) serves at once,
told apart by their JSON-RPC ids (where nothing can be asked of the callers)."""
MAX_KEYS = 1024
"""Pool keys remembered per backend (one per distinct capabilities object seen)."""
Opener = Callable[[Era, mcp_types.ClientCapabilities], Awaitable[BackendSession]]
Clock = Callable[[], float]

FULL_CAPABILITIES = mcp_types.ClientCapabilities(
    sampling=mcp_types.SamplingCapability(),
    elicitation=mcp_types.ElicitationCapability(
        form=mcp_types.FormElicitationCapability(), url=mcp_types.UrlElicitationCapability()
    ),
)
"""What the gateway declares for itself (listings, health probes): everything it can relay."""


def declared(caller: Caller, *, roots: bool) -> mcp_types.ClientCapabilities:
    """What to declare toward a backend for `caller`: what the gateway relays, and only what the
    client declared (the gateway itself: everything but roots). Roots only where no other client
    can be served by the same session state: a client's own session, or a 2026-07-28 one."""
    client = caller.capabilities
    if client is None:
        return FULL_CAPABILITIES
    return mcp_types.ClientCapabilities(
        sampling=client.sampling,
        elicitation=client.elicitation,
        roots=client.roots if roots else None,
    )


def signature(capabilities: mcp_types.ClientCapabilities) -> str:
    """A stable key for a set of declared capabilities."""
    return capabilities.model_dump_json(by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class SessionLimits:
    """The bounds of one backend's sessions."""

    pool_size: int
    max_clients: int
    max_per_principal: int
    idle_timeout: float
    pool_idle_timeout: float = POOL_IDLE_TIMEOUT
    multiplex: int = 1
    """Requests one shared session may serve at once when nothing can be asked of its callers
    (see `gateway.upstream.pool`): more than 1 only for a backend declared stateless."""


class _Bound:
    """A client's own session and the requests it is serving."""

    def __init__(self, session: BackendSession, principal: str, now: float) -> None:
        self.session = session
        self.principal = principal
        self.callers: list[Caller] = []
        self.last_used = now


class Sessions:
    """One backend's sessions: bound to clients, or shared in pools keyed by era and capabilities."""

    def __init__(
        self,
        backend: str,
        opener: Opener,
        *,
        per_client: bool,
        limits: SessionLimits,
        clock: Clock = time.monotonic,
    ) -> None:
        self._backend = backend
        self._open = opener
        self.per_client = per_client
        self._limits = limits
        self._clock = clock
        self._bound: dict[str, _Bound] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._pools: dict[tuple[Era, str], SessionPool] = {}
        # (era, id of a capabilities object) → (that object, its pool key); the object is kept,
        # so its id cannot be another's while the entry lives
        self._keys: dict[tuple[Era, int], tuple[object, tuple[Era, str]]] = {}

    def binds(self, caller: Caller, era: Era) -> bool:
        """Whether `caller` is served by a session of its own in `era`."""
        return self.per_client and caller.bindable and era == "legacy"

    def lease(self, caller: Caller, era: Era) -> AbstractAsyncContextManager[BackendSession]:
        """The session that serves `caller`'s request, held until the context exits.

        The gateway's own requests (listings, health probes) ride the pool clients used last in
        that era, so a pool opened for the gateway alone closes once clients have their own."""
        if self.binds(caller, era):
            return self._lease_bound(caller)
        if isinstance(caller, SystemCaller):
            used = [p for (pool_era, _), p in self._pools.items() if pool_era == era]
            if used:
                return max(used, key=lambda p: p.last_used).lease(caller)
        return self.pool(caller, era).lease(caller)

    def pool_key(self, caller: Caller, era: Era) -> tuple[Era, str]:
        """The shared pool `caller` is served from in `era` (worked out once per set of
        declared capabilities: a session's, or a parsed 2026 declaration, is one object)."""
        capabilities = caller.capabilities
        known = self._keys.get((era, id(capabilities)))
        if known is not None and known[0] is capabilities:
            return known[1]
        key = era, signature(declared(caller, roots=era == "modern"))
        if len(self._keys) >= MAX_KEYS:
            self._keys.clear()
        self._keys[(era, id(capabilities))] = (capabilities, key)
        return key

    def pool(self, caller: Caller, era: Era) -> SessionPool:
        """The shared pool for `caller`'s declared capabilities (made on first use)."""
        key = self.pool_key(caller, era)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= MAX_POOLS:
                raise RequestRejected(
                    f"backend '{self._backend}': more than {MAX_POOLS} different client capability sets",
                    reason="session_limit",
                )
            capabilities = declared(caller, roots=era == "modern")
            askable = capabilities.sampling is not None or capabilities.elicitation is not None
            pool = self._pools[key] = SessionPool(
                lambda: self._open(era, capabilities),
                self._limits.pool_size,
                depth=1 if askable or self.per_client else self._limits.multiplex,
                backend=self._backend,
                clock=self._clock,
            )
        return pool

    # -- a client's own session ------------------------------------------------------------

    def _lease_bound(self, caller: Caller) -> _BoundLease:
        return _BoundLease(self, caller)

    def _returned(self, bound: _Bound, caller: Caller) -> None:
        """`caller` is done with its own session."""
        bound.callers.remove(caller)
        bound.session.caller = bound.callers[-1] if bound.callers else caller.detached()
        bound.last_used = self._clock()
        if not bound.session.alive:
            self._bound.pop(caller.key, None)

    async def _session_for(self, caller: Caller) -> _Bound:
        key = caller.key
        bound = self._bound.get(key)
        if bound is not None and bound.session.alive:
            return bound  # the common case: no lock to take
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = anyio.Lock()
        async with lock:
            bound = self._bound.get(key)
            if bound is not None and bound.session.alive:
                return bound
            self._check_limits(caller)
            session = await self._open("legacy", declared(caller, roots=True))
            session.owner_key = key
            session.caller = caller.detached()
            bound = _Bound(session, caller.principal.name, self._clock())
            self._bound[key] = bound
            caller.on_session_end(lambda: self._release(key))
            return bound

    def _check_limits(self, caller: Caller) -> None:
        limits = self._limits
        live = [b for b in self._bound.values() if b.session.alive]
        principal = caller.principal.name
        mine = sum(1 for b in live if b.principal == principal)
        # a quota between principals: where nobody authenticates, every client is the same one
        # (`anonymous` or `local`), and only the total bounds them
        quota = caller.principal.kind in ("api_key", "jwt")
        if quota and mine >= limits.max_per_principal:
            raise RequestRejected(
                f"backend '{self._backend}': principal '{principal}' already has {mine} sessions open "
                f"(max_client_sessions_per_principal: {limits.max_per_principal}); close one, or wait "
                "for an idle one to be closed",
                reason="session_limit",
            )
        if len(live) >= limits.max_clients:
            raise RequestRejected(
                f"backend '{self._backend}': {len(live)} client sessions are open "
                f"(max_client_sessions: {limits.max_clients})",
                reason="session_limit",
            )

    def bound_session(self, key: str) -> BackendSession | None:
        """The session bound to a client session, if one is open."""
        bound = self._bound.get(key)
        return bound.session if bound is not None and bound.session.alive else None

    async def _release(self, key: str) -> None:
        self._locks.pop(key, None)
        bound = self._bound.pop(key, None)
        if bound is not None:
            await bound.session.aclose()

    async def reap_idle(self) -> int:
        """Close client sessions and shared sessions idle longer than their timeouts (a pool left
        empty goes too); returns how many sessions were closed."""
        now = self._clock()
        stale = [
            key
            for key, bound in self._bound.items()
            if not bound.callers and now - bound.last_used > self._limits.idle_timeout
        ]
        for key in stale:
            await self._release(key)
        closed = len(stale)
        for pool_key, pool in list(self._pools.items()):
            closed += await pool.reap_idle(self._limits.pool_idle_timeout)
            if not pool.open_sessions() and not pool.busy:
                del self._pools[pool_key]
        return closed

    # -- all of them -----------------------------------------------------------------------

    def open_sessions(self) -> list[BackendSession]:
        """Every session open now."""
        bound = [b.session for b in self._bound.values() if b.session.alive]
        return bound + [s for pool in self._pools.values() for s in pool.open_sessions()]

    async def aclose(self) -> None:
        """Close every session."""
        for key in list(self._bound):
            await self._release(key)
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class _BoundLease:
    """`async with` a client's own session, the client its caller meanwhile (a class, not a
    generator: it is taken on every call)."""

    __slots__ = ("_bound", "_caller", "_sessions")

    def __init__(self, sessions: Sessions, caller: Caller) -> None:
        self._sessions = sessions
        self._caller = caller
        self._bound: _Bound | None = None

    async def __aenter__(self) -> BackendSession:
        bound = self._bound = await self._sessions._session_for(self._caller)
        bound.callers.append(self._caller)
        bound.session.caller = self._caller
        return bound.session

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._bound is not None
        self._sessions._returned(self._bound, self._caller)
