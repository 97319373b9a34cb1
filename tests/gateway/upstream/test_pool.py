"""Session strategies on their own, with stand-in sessions and an injected clock."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types
import pytest

from gateway.errors import RequestRejected
from gateway.principal import Principal
from gateway.upstream.caller import SYSTEM_CALLER
from gateway.upstream.pool import SessionPool
from gateway.upstream.sessions import MAX_POOLS, SessionLimits, Sessions


class StubSession:
    count = 0

    def __init__(self, era: str = "legacy", capabilities: Any = None) -> None:
        StubSession.count += 1
        self.id = StubSession.count
        self.on_wait: Any = None
        self.alive = True
        self.caller: Any = None
        self.owner_key: str | None = None
        self.closed = False
        self.era = era
        self.client_capabilities = capabilities

    async def aclose(self) -> None:
        self.alive = False
        self.closed = True


class StubCaller:
    def __init__(
        self,
        key: str,
        *,
        bindable: bool = True,
        principal: str = "p",
        capabilities: mcp_types.ClientCapabilities | None = None,
    ) -> None:
        self.key = key
        self.modern = not bindable
        self.bindable = bindable
        self.capabilities = capabilities or mcp_types.ClientCapabilities()
        self.principal = Principal(principal, "api_key")
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
    async def make(era: str = "legacy", capabilities: Any = None) -> StubSession:
        session = StubSession(era, capabilities)
        made.append(session)
        return session

    return make


LIMITS = SessionLimits(pool_size=2, max_clients=4, max_per_principal=2, idle_timeout=60)
SAMPLING = mcp_types.ClientCapabilities(
    sampling=mcp_types.SamplingCapability(), roots=mcp_types.RootsCapability(list_changed=True)
)


def sessions(made: list[StubSession], *, clock: Clock | None = None, per_client: bool = True) -> Sessions:
    return Sessions("be", factory(made), per_client=per_client, limits=LIMITS, clock=clock or Clock())


@pytest.mark.asyncio
class TestClientsOwnSessions:
    async def test_idle_sessions_are_closed_after_the_timeout_and_busy_ones_are_not(self) -> None:
        made: list[StubSession] = []
        clock = Clock()
        strategy = sessions(made, clock=clock)
        a, b = StubCaller("a"), StubCaller("b")
        async with strategy.lease(a, "legacy"):  # type: ignore[arg-type]
            pass
        async with strategy.lease(b, "legacy"):  # type: ignore[arg-type]
            clock.now += 61
            assert await strategy.reap_idle() == 1, "a is idle; b is in a request"
        assert made[0].closed and not made[1].closed
        clock.now += 30
        assert await strategy.reap_idle() == 0
        clock.now += 31
        assert await strategy.reap_idle() == 1
        assert made[1].closed

    async def test_a_session_ending_closes_its_backend_session(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made)
        caller = StubCaller("a")
        async with strategy.lease(caller, "legacy") as first:  # type: ignore[arg-type]
            assert first.owner_key == "a"
        for end in caller.ends:
            await end()
        assert made[0].closed

    async def test_a_clients_own_session_declares_what_it_declared_roots_included(self) -> None:
        made: list[StubSession] = []
        async with sessions(made).lease(StubCaller("a", capabilities=SAMPLING), "legacy"):  # type: ignore[arg-type]
            pass
        declared = made[0].client_capabilities
        assert declared.sampling is not None and declared.roots is not None and declared.elicitation is None

    async def test_a_principal_past_its_limit_is_refused_clearly(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made)
        for key in ("a", "b"):
            async with strategy.lease(StubCaller(key, principal="eve"), "legacy"):  # type: ignore[arg-type]
                pass
        with pytest.raises(RequestRejected, match="principal 'eve' already has 2 sessions open"):
            async with strategy.lease(StubCaller("c", principal="eve"), "legacy"):  # type: ignore[arg-type]
                pass
        async with strategy.lease(StubCaller("d", principal="ann"), "legacy"):  # type: ignore[arg-type]
            pass
        assert len(made) == 3, "another principal is not held back"

    async def test_past_the_total_limit_new_clients_are_refused(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made)
        for key in ("a", "b", "c", "d"):
            async with strategy.lease(StubCaller(key, principal=key), "legacy"):  # type: ignore[arg-type]
                pass
        with pytest.raises(RequestRejected, match="max_client_sessions: 4"):
            async with strategy.lease(StubCaller("e", principal="e"), "legacy"):  # type: ignore[arg-type]
                pass


@pytest.mark.asyncio
class TestSharedSessions:
    async def test_callers_without_a_session_share_a_pool(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made)
        for _ in range(3):
            caller = StubCaller("x", bindable=False, capabilities=SAMPLING)
            async with strategy.lease(caller, "modern") as session:  # type: ignore[arg-type]
                assert session.owner_key is None
        assert len(made) == 1
        assert made[0].client_capabilities.roots is not None, "a 2026 session keeps no roots to leak"

    async def test_a_shared_handshake_era_session_declares_no_roots(self) -> None:
        made: list[StubSession] = []
        caller = StubCaller("x", bindable=False, capabilities=SAMPLING)  # a 2026 client, legacy backend
        async with sessions(made).lease(caller, "legacy"):  # type: ignore[arg-type]
            pass
        assert made[0].client_capabilities.roots is None and made[0].client_capabilities.sampling

    async def test_a_stateless_backend_shares_sessions_between_handshake_clients(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made, per_client=False)
        for key in ("a", "b"):
            async with strategy.lease(StubCaller(key), "legacy") as session:  # type: ignore[arg-type]
                assert session.owner_key is None
        assert len(made) == 1

    async def test_clients_that_declare_different_capabilities_get_different_pools(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made, per_client=False)
        async with strategy.lease(StubCaller("a", capabilities=SAMPLING), "legacy"):  # type: ignore[arg-type]
            pass
        async with strategy.lease(StubCaller("b"), "legacy"):  # type: ignore[arg-type]
            pass
        assert [m.client_capabilities.sampling is not None for m in made] == [True, False]

    async def test_the_number_of_capability_sets_is_bounded(self) -> None:
        made: list[StubSession] = []
        strategy = sessions(made, per_client=False)
        samplings = [None, {}, {"context": {}}, {"tools": {}}, {"context": {}, "tools": {}}]
        elicitations = [None, {"form": {}}, {"url": {}}, {"form": {}, "url": {}}]
        sets = [
            mcp_types.ClientCapabilities.model_validate({"sampling": s, "elicitation": e})
            for s, e in itertools.product(samplings, elicitations)
        ]
        for caps in sets[:MAX_POOLS]:
            strategy.pool(StubCaller("a", capabilities=caps), "legacy")  # type: ignore[arg-type]
        with pytest.raises(RequestRejected, match="different client capability sets"):
            strategy.pool(StubCaller("a", capabilities=sets[MAX_POOLS]), "legacy")  # type: ignore[arg-type]


@pytest.mark.asyncio
class TestWaitingOnAClient:
    async def test_a_request_waiting_on_its_client_does_not_hold_others_back(self) -> None:
        """A push left unanswered gives its pool place up: another client's call goes ahead."""
        made: list[StubSession] = []
        pool = SessionPool(factory(made), 1)
        waiting = anyio.Event()
        answered = anyio.Event()

        async def slow_client() -> None:
            async with pool.lease(StubCaller("slow")) as session:  # type: ignore[arg-type]
                session.on_wait(True)  # the backend pushed; the client takes its time
                waiting.set()
                await answered.wait()
                session.on_wait(False)

        async with anyio.create_task_group() as group:
            group.start_soon(slow_client)
            await waiting.wait()
            with anyio.fail_after(1):
                async with pool.lease(StubCaller("other")) as other:  # type: ignore[arg-type]
                    assert other is made[1]
            answered.set()

    async def test_the_gateways_own_requests_ride_the_clients_pool_and_its_own_closes(self) -> None:
        made: list[StubSession] = []
        clock = Clock()
        strategy = sessions(made, clock=clock, per_client=False)
        async with strategy.lease(SYSTEM_CALLER, "legacy"):
            pass  # the catalog is listed before any client comes
        clock.now += 1
        async with strategy.lease(StubCaller("a", capabilities=SAMPLING), "legacy"):  # type: ignore[arg-type]
            pass
        async with strategy.lease(SYSTEM_CALLER, "legacy") as session:
            assert session is made[1], "the gateway's probe uses the pool clients use"
        clock.now += LIMITS.pool_idle_timeout + 1
        assert await strategy.reap_idle() == 2
        assert made[0].closed


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


@pytest.mark.asyncio
class TestMultiplexedPool:
    """A pool with `depth`: several requests share one session (a stdio backend declared stateless)."""

    async def test_requests_share_one_session_up_to_its_depth(self) -> None:
        made: list[StubSession] = []
        pool = SessionPool(factory(made), 1, depth=3)
        inside = 0
        three_in = anyio.Event()
        release = anyio.Event()

        async def call() -> None:
            nonlocal inside
            async with pool.lease(StubCaller("c")) as session:  # type: ignore[arg-type]
                assert session is made[0]
                inside += 1
                if inside == 3:
                    three_in.set()
                await release.wait()
                inside -= 1

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(call)
            with anyio.fail_after(1):
                await three_in.wait()
            await anyio.wait_all_tasks_blocked()
            assert (len(made), inside) == (1, 3), "one process; the fourth request waits for a slot"
            release.set()
        assert len(made) == 1

    async def test_a_backend_message_goes_to_the_only_caller_in_flight_and_to_nobody_when_several_are(
        self,
    ) -> None:
        made: list[StubSession] = []
        pool = SessionPool(factory(made), 1, depth=2)
        one, two = StubCaller("one"), StubCaller("two")
        async with pool.lease(one) as session:  # type: ignore[arg-type]
            assert session.caller is one
            async with pool.lease(two):  # type: ignore[arg-type]
                assert session.caller is None, "over stdio a log names no request: it is nobody's"
            assert session.caller is one

    async def test_a_dead_shared_session_is_replaced_once_its_requests_are_done(self) -> None:
        made: list[StubSession] = []
        pool = SessionPool(factory(made), 1, depth=2)
        async with pool.lease(StubCaller("c")) as session:  # type: ignore[arg-type]
            session.alive = False
        async with pool.lease(StubCaller("c")) as session:  # type: ignore[arg-type]
            assert session is made[1]
        assert not pool.busy


@pytest.mark.asyncio
async def test_only_a_pooled_backend_whose_callers_cannot_be_asked_multiplexes() -> None:
    made: list[StubSession] = []
    limits = SessionLimits(pool_size=1, max_clients=4, max_per_principal=4, idle_timeout=60, multiplex=8)
    pooled = Sessions("b", factory(made), per_client=False, limits=limits)
    personal = Sessions("b", factory(made), per_client=True, limits=limits)
    assert pooled.pool(StubCaller("a"), "legacy")._depth == 8  # type: ignore[arg-type]
    assert pooled.pool(StubCaller("s", capabilities=SAMPLING), "legacy")._depth == 1  # type: ignore[arg-type]
    assert personal.pool(StubCaller("m", bindable=False), "modern")._depth == 1  # type: ignore[arg-type]
