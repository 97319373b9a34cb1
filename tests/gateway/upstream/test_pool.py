"""Session strategies on their own, with stand-in sessions and an injected clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from gateway.upstream.pool import PerClientSessions, SessionPool


class StubSession:
    def __init__(self) -> None:
        self.alive = True
        self.caller: Any = None
        self.owner_key: str | None = None
        self.closed = False

    async def aclose(self) -> None:
        self.alive = False
        self.closed = True


class StubCaller:
    def __init__(self, key: str, *, bindable: bool = True) -> None:
        self.key = key
        self.modern = not bindable
        self.bindable = bindable
        self.capabilities = None
        self.ends: list[Callable[[], Awaitable[None]]] = []

    def detached(self) -> StubCaller:
        return self

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.ends.append(callback)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def factory(made: list[StubSession]) -> Callable[..., Awaitable[Any]]:
    async def make(*_: Any) -> StubSession:
        session = StubSession()
        made.append(session)
        return session

    return make


@pytest.mark.asyncio
class TestPerClient:
    async def test_idle_sessions_are_closed_after_the_timeout_and_busy_ones_are_not(self) -> None:
        made: list[StubSession] = []
        clock = Clock()
        sessions = PerClientSessions(factory(made), stateless_pool_size=2, idle_timeout=60, clock=clock)
        a, b = StubCaller("a"), StubCaller("b")
        async with sessions.lease(a):  # type: ignore[arg-type]
            pass
        async with sessions.lease(b):  # type: ignore[arg-type]
            clock.now += 61
            assert await sessions.reap_idle() == 1, "a is idle; b is in a request"
        assert made[0].closed and not made[1].closed
        clock.now += 30
        assert await sessions.reap_idle() == 0
        clock.now += 31
        assert await sessions.reap_idle() == 1
        assert made[1].closed

    async def test_a_session_ending_closes_its_backend_session(self) -> None:
        made: list[StubSession] = []
        sessions = PerClientSessions(factory(made), stateless_pool_size=2, idle_timeout=60)
        caller = StubCaller("a")
        async with sessions.lease(caller) as first:  # type: ignore[arg-type]
            assert first.owner_key == "a"
        for end in caller.ends:
            await end()
        assert made[0].closed

    async def test_callers_without_a_session_share_the_pool(self) -> None:
        made: list[StubSession] = []
        sessions = PerClientSessions(factory(made), stateless_pool_size=2, idle_timeout=60)
        for _ in range(3):
            async with sessions.lease(StubCaller("x", bindable=False)) as session:  # type: ignore[arg-type]
                assert session.owner_key is None
        assert len(made) == 1


@pytest.mark.asyncio
class TestPool:
    async def test_the_pool_grows_to_its_size_and_no_further(self) -> None:
        made: list[StubSession] = []
        pool = SessionPool(factory(made), 2)
        entered = anyio.Event()
        release = anyio.Event()
        holders = 0

        async def hold() -> None:
            nonlocal holders
            async with pool.lease(StubCaller("c")):  # type: ignore[arg-type]
                holders += 1
                if holders == 2:
                    entered.set()
                await release.wait()

        async with anyio.create_task_group() as group:
            group.start_soon(hold)
            group.start_soon(hold)
            group.start_soon(hold)
            await entered.wait()
            assert len(made) == 2, "the third request waits for a session"
            release.set()
        assert len(made) == 2

    async def test_a_dead_session_is_replaced(self) -> None:
        made: list[StubSession] = []
        pool = SessionPool(factory(made), 1)
        async with pool.lease(StubCaller("c")) as session:  # type: ignore[arg-type]
            session.alive = False
        async with pool.lease(StubCaller("c")) as session:  # type: ignore[arg-type]
            assert session is made[1]
