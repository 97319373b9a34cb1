"""`SessionPool`: a bounded pool of persistent sessions, one request per session at a time.

A session serves one request at a time (its caller owns it for that long), so anything the
backend sends during the request reaches exactly that request's client. The pool opens sessions
lazily up to its size; a session that died is dropped and replaced on the next request. Which
pool (or a client's own session) serves a request is `gateway.upstream.sessions`' decision.

A pool of sessions that carry no client's state and cannot be asked anything (a backend the
operator declared stateless, whose callers declared neither sampling nor elicitation) may be
given a `depth`: each session then serves up to that many requests at once, told apart by their
JSON-RPC ids, so one stdio process is not one call at a time. Progress travels with its
request's token; a log message goes to the request's client while it is the only one in
flight (over stdio nothing else says which request a log message belongs to).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio

from gateway.errors import BackendOverloaded
from gateway.upstream.caller import Caller
from gateway.upstream.session import BackendSession

SessionFactory = Callable[[], Awaitable[BackendSession]]


class _Alone:
    """One request's hold on a pooled session of its own, and on one of the pool's permits (a
    class, not a generator-based context manager: it runs on every call)."""

    __slots__ = ("_caller", "_pool", "_session", "holds_permit")

    def __init__(self, pool: SessionPool, caller: Caller) -> None:
        self._pool = pool
        self._caller = caller
        self._session: BackendSession | None = None
        self.holds_permit = False

    async def __aenter__(self) -> BackendSession:
        pool = self._pool
        await pool._permits.acquire()
        self.holds_permit = True
        try:
            session = await pool._checkout()
        except BaseException:
            self._end()
            raise
        session.caller = self._caller
        session.on_wait = self.waiting
        self._session = session
        return session

    async def __aexit__(self, *exc: object) -> None:
        session = self._session
        try:
            if session is not None:
                session.caller = None
                session.on_wait = None
                self._pool._checkin(session)
        finally:
            self._end()

    def waiting(self, on_client: bool) -> None:
        """While the request waits on its client (a push), its permit serves others."""
        if on_client:
            self._end()

    def _end(self) -> None:
        if self.holds_permit:
            self.holds_permit = False
            self._pool._permits.release()


class SessionPool:
    """A bounded pool of shared sessions, one request per session at a time.

    `size` bounds the requests being served at once. A request that waits for its client to
    answer a push (sampling, elicitation) gives its place up while it waits, so a client that
    takes its time never holds back other clients: the pool then runs up to `2 * size` sessions.
    Sessions unused for `idle_timeout` are closed (`reap_idle`).
    """

    def __init__(
        self,
        factory: SessionFactory,
        size: int,
        *,
        depth: int = 1,
        backend: str = "backend",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._backend = backend
        self._size = size
        self._depth = depth
        # a free permit is taken without a trip around the event loop (as asyncio's own do)
        self._permits = anyio.Semaphore(size * depth, fast_acquire=True)
        self._load: dict[BackendSession, list[Caller]] = {}
        """Multiplexed sessions (`depth` > 1) and the callers each is serving now."""
        self._opening = anyio.Lock()
        self._idle: list[BackendSession] = []
        self._all: set[BackendSession] = set()
        self._clock = clock
        self._last_used: dict[int, float] = {}
        self.last_used = clock()

    def lease(self, caller: Caller) -> AbstractAsyncContextManager[BackendSession]:
        """A session for one request of `caller`: a share of a multiplexed one, or one alone."""
        return self._shared(caller) if self._depth > 1 else _Alone(self, caller)

    def _checkin(self, session: BackendSession) -> None:
        """A session back from a request: idle again, or forgotten if it died."""
        self.last_used = self._last_used[session.id] = self._clock()
        if session.alive:
            self._idle.append(session)
        else:
            self._forget(session)

    @asynccontextmanager
    async def _shared(self, caller: Caller) -> AsyncIterator[BackendSession]:
        """A share of a multiplexed session: the least busy one, or a new one while the pool
        has room (a permit guarantees one of them has a free slot)."""
        async with self._permits:
            session = await self._least_busy()
            callers = self._load.setdefault(session, [])
            callers.append(caller)
            session.caller = caller if len(callers) == 1 else None
            try:
                yield session
            finally:
                callers.remove(caller)
                session.caller = callers[0] if len(callers) == 1 else None
                self.last_used = self._last_used[session.id] = self._clock()
                if not session.alive and not callers:
                    self._load.pop(session, None)
                    self._forget(session)

    async def _least_busy(self) -> BackendSession:
        async with self._opening:  # one session opens at a time: the others then share it
            for dead in [s for s, callers in self._load.items() if not s.alive and not callers]:
                self._load.pop(dead)
                self._forget(dead)
            live = [s for s in self._load if s.alive]
            if live:
                session = min(live, key=lambda s: len(self._load[s]))
                if len(self._load[session]) < self._depth or len(live) >= self._size:
                    return session
            session = await self._factory()
            self._all.add(session)
            self._load[session] = []
            return session

    async def _checkout(self) -> BackendSession:
        while self._idle:
            session = self._idle.pop()
            if session.alive:
                return session
            self._forget(session)
        if len(self._all) >= 2 * self._size:
            raise BackendOverloaded(
                self._backend,
                f"{len(self._all)} sessions are waiting on their clients; the limit is {2 * self._size}",
            )
        session = await self._factory()
        self._all.add(session)
        return session

    def _forget(self, session: BackendSession) -> None:
        self._all.discard(session)
        self._last_used.pop(session.id, None)

    @property
    def busy(self) -> bool:
        """Whether any of its sessions is serving a request now."""
        if self._depth > 1:
            return any(self._load.values())
        return len(self._idle) < len(self._all)

    async def reap_idle(self, timeout: float) -> int:
        """Close the sessions unused for `timeout`; returns how many were closed."""
        now = self._clock()
        idle = [s for s, callers in self._load.items() if not callers] if self._depth > 1 else self._idle
        stale = [s for s in idle if now - self._last_used.get(s.id, now) > timeout]
        for session in stale:
            if session in self._idle:
                self._idle.remove(session)
            self._load.pop(session, None)
            self._forget(session)
            await session.aclose()
        return len(stale)

    def open_sessions(self) -> list[BackendSession]:
        return [s for s in self._all if s.alive]

    async def aclose(self) -> None:
        sessions, self._all, self._idle, self._load = list(self._all), set(), [], {}
        for session in sessions:
            await session.aclose()
