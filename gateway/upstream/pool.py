"""Session strategies: which backend session serves a request.

- `SessionPool` (`session: pooled`): a bounded pool of persistent sessions shared by all
  clients. A session serves one request at a time (its caller owns it for that long), so
  anything the backend sends during the request reaches exactly that request's client. The
  pool opens sessions lazily up to its size; a session that died is dropped and replaced on
  the next request.
- `PerClientSessions` (`session: per_client`): one session per front client session, opened
  on its first request and closed when the client's session ends or has been idle too long,
  so state the backend keeps per session stays with its client. Clients of the stateless
  2026-07-28 era have no session to bind to and are served from a pool.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import anyio

from gateway.upstream.caller import SYSTEM_CALLER, Caller
from gateway.upstream.session import BackendSession

SessionFactory = Callable[[], Awaitable[BackendSession]]
BoundSessionFactory = Callable[[Caller], Awaitable[BackendSession]]
"""Opens a session on behalf of one client (it may advertise that client's capabilities)."""
Clock = Callable[[], float]


class SessionStrategy(Protocol):
    """Hands out a session for the duration of one request."""

    def lease(self, caller: Caller) -> AbstractAsyncContextManager[BackendSession]:
        """The session that serves `caller`'s request, held until the context exits."""
        ...

    def open_sessions(self) -> list[BackendSession]:
        """Every session currently open."""
        ...

    async def aclose(self) -> None:
        """Close every session."""
        ...


class SessionPool:
    """A bounded pool of shared sessions, one request per session at a time."""

    def __init__(self, factory: SessionFactory, size: int) -> None:
        self._factory = factory
        self._permits = anyio.Semaphore(size)
        self._idle: list[BackendSession] = []
        self._all: set[BackendSession] = set()

    @asynccontextmanager
    async def lease(self, caller: Caller) -> AsyncIterator[BackendSession]:
        async with self._permits:
            session = await self._checkout()
            session.caller = caller
            try:
                yield session
            finally:
                session.caller = None
                if session.alive:
                    self._idle.append(session)
                else:
                    self._all.discard(session)

    async def _checkout(self) -> BackendSession:
        while self._idle:
            session = self._idle.pop()
            if session.alive:
                return session
            self._all.discard(session)
        session = await self._factory()
        self._all.add(session)
        return session

    def open_sessions(self) -> list[BackendSession]:
        return [s for s in self._all if s.alive]

    async def aclose(self) -> None:
        sessions, self._all, self._idle = list(self._all), set(), []
        for session in sessions:
            await session.aclose()


class _Bound:
    """A per-client session and the requests it is serving."""

    def __init__(self, session: BackendSession, now: float) -> None:
        self.session = session
        self.callers: list[Caller] = []
        self.last_used = now


class PerClientSessions:
    """One session per front client session; a pool for clients that have no session."""

    def __init__(
        self,
        factory: BoundSessionFactory,
        *,
        stateless_pool_size: int,
        idle_timeout: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._factory = factory
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._bound: dict[str, _Bound] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._stateless = SessionPool(lambda: factory(SYSTEM_CALLER), stateless_pool_size)

    def lease(self, caller: Caller) -> AbstractAsyncContextManager[BackendSession]:
        if not caller.bindable:
            return self._stateless.lease(caller)
        return self._lease_bound(caller)

    @asynccontextmanager
    async def _lease_bound(self, caller: Caller) -> AsyncIterator[BackendSession]:
        bound = await self._session_for(caller)
        bound.callers.append(caller)
        bound.session.caller = caller
        try:
            yield bound.session
        finally:
            bound.callers.remove(caller)
            bound.session.caller = bound.callers[-1] if bound.callers else caller.detached()
            bound.last_used = self._clock()
            if not bound.session.alive:
                self._bound.pop(caller.key, None)

    async def _session_for(self, caller: Caller) -> _Bound:
        key = caller.key
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            bound = self._bound.get(key)
            if bound is not None and bound.session.alive:
                return bound
            session = await self._factory(caller)
            session.owner_key = key
            session.caller = caller.detached()
            bound = _Bound(session, self._clock())
            self._bound[key] = bound
            caller.on_session_end(lambda: self._release(key))
            return bound

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
        """Close sessions idle longer than the timeout; returns how many were closed."""
        now = self._clock()
        stale = [
            k for k, b in self._bound.items() if not b.callers and now - b.last_used > self._idle_timeout
        ]
        for key in stale:
            await self._release(key)
        return len(stale)

    def open_sessions(self) -> list[BackendSession]:
        bound = [b.session for b in self._bound.values() if b.session.alive]
        return bound + self._stateless.open_sessions()

    async def aclose(self) -> None:
        for key in list(self._bound):
            await self._release(key)
        await self._stateless.aclose()
