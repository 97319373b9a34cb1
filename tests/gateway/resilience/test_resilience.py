"""Retries, deadlines, the breaker and the caps against a fault-injecting backend, asserting on
the backend's own counters (RELIABILITY.md §5 items 4-17)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import pytest_asyncio
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from gateway.errors import BACKEND_SESSION_LOST, BACKEND_UNAVAILABLE, REQUEST_REJECTED
from gateway.resilience.retry import run_attempts
from gateway.upstream.caller import SYSTEM_CALLER
from gateway.upstream.catalog import fetch_listing
from gateway.upstream.h1 import NotSent
from tests.conftest import PYTHON, connected, free_port, make_gateway
from tests.e2e.support import running
from tests.gateway.authed import http_front

FAULTY_PORT = free_port()
FAULTY = f"http://127.0.0.1:{FAULTY_PORT}"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("faulty") / "faulty.log"
    with running(
        [PYTHON, "-m", "tests.fakes.faulty", "--port", str(FAULTY_PORT)],
        log=log,
        ready_url=f"{FAULTY}/_counters",
    ):
        yield FAULTY


@pytest.fixture(autouse=True)
def fresh_faults(faulty: str) -> None:
    httpx2.post(f"{faulty}/_reset")


def fault(target: str, mode: str, **extra: Any) -> None:
    httpx2.post(f"{FAULTY}/_faults", json={"target": target, "mode": mode, **extra}).raise_for_status()


def executions(tool: str) -> int:
    return int(httpx2.get(f"{FAULTY}/_counters").json()["executions"].get(tool, 0))


def received(target: str) -> int:
    return int(httpx2.get(f"{FAULTY}/_counters").json()["received"].get(target, 0))


def gateway_for(policy: str = "", mode: str = "auto") -> Any:
    return make_gateway(
        f"backends:\n  f:\n    url: {FAULTY}/mcp\n    mode: {mode}\n    health: null\n{policy}"
    )


class RefuseNext:
    """Stands in for a backend that refuses the next `count` connections of `tools/call`s
    (in place of the backend wire's POST)."""

    def __init__(self, post: Any, count: int) -> None:
        self.post = post
        self.count = count

    def __call__(self, body: bytes, headers: Any) -> Any:
        if self.count > 0 and b'"tools/call"' in body:
            self.count -= 1
            return _refused()
        return self.post(body, headers)


@asynccontextmanager
async def _refused() -> AsyncIterator[Any]:
    raise NotSent("no connection (refused, injected)")
    yield


@pytest_asyncio.fixture
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Client[Any]]:
    marker = request.node.get_closest_marker("policy")
    gateway = gateway_for(marker.args[0] if marker else "")
    async with connected(gateway, mode="legacy") as connected_client:
        connected_client.gateway = gateway  # type: ignore[attr-defined]
        yield connected_client


@pytest.mark.asyncio
class TestRetries:
    async def test_a_refused_connection_is_retried_and_the_tool_runs_once(self, client: Any) -> None:
        """Item 4: nothing was sent, so trying again is safe whatever the tool does."""
        link = client.gateway.backends["f"].link
        link.wire._post = RefuseNext(link.wire._post, 1)
        result = await client.call_tool("f_work", {"tag": "a"})
        assert result.data == "done a"
        assert executions("work") == 1

    async def test_a_call_that_may_have_run_is_not_retried(self, client: Any) -> None:
        """Item 5: the backend received it and dropped the connection: no second run, no hang."""
        fault("work", "drop")
        with anyio.fail_after(10), pytest.raises(MCPError) as caught:
            await client.call_tool("f_work", {"tag": "b"})
        assert caught.value.error.code == BACKEND_SESSION_LOST
        assert executions("work") == 1
        assert (await client.call_tool("f_work", {"tag": "c"})).data == "done c", (
            "the next call gets a new session"
        )

    @pytest.mark.policy("    idempotent_tools: [idem]\n    retry: {attempts: 2}\n")
    async def test_an_idempotent_tool_is_retried_after_a_drop(self, client: Any) -> None:
        """Item 6."""
        fault("idem", "drop")
        assert (await client.call_tool("f_idem", {"tag": "d"})).data == "done d"
        assert executions("idem") == 2

    @pytest.mark.policy("    retry: {attempts: 2}\n")
    async def test_a_read_only_hint_is_not_trusted_by_default(self, client: Any) -> None:
        """Item 7."""
        fault("ro", "drop")
        with pytest.raises(MCPError):
            await client.call_tool("f_ro", {})
        assert executions("ro") == 1

    @pytest.mark.policy("    retry: {attempts: 2}\n    trust_annotations: true\n")
    async def test_a_trusted_read_only_hint_allows_a_retry(self, client: Any) -> None:
        fault("ro", "drop")
        assert (await client.call_tool("f_ro", {})).data == "read "
        assert executions("ro") == 2

    @pytest.mark.policy("    retry: {attempts: 3}\n    idempotent_tools: ['*']\n")
    async def test_answers_are_never_retried(self, client: Any) -> None:
        """Item 8: an error result and a JSON-RPC error are answers."""
        with pytest.raises(ToolError):
            await client.call_tool("f_fail", {})
        assert executions("fail") == 1
        with pytest.raises(ToolError):
            await client.call_tool("f_work", {"unknown_argument": 1, "tag": 5})
        assert received("work") == 1

    @pytest.mark.policy("    retry: {attempts: 2}\n    request_timeout: 1s\n    deadline: 5s\n")
    async def test_a_list_that_timed_out_is_retried(self, client: Any) -> None:
        """Item 8: a timeout leaves the outcome unknown; lists have no side effects."""
        fault("method:tools/list", "delay", delay_ms=2000)
        backend = client.gateway.backends["f"]
        plan = backend.plan("tools/list", None)

        async def attempt(timeout: float) -> Any:
            async with backend.lease(SYSTEM_CALLER) as session:
                return await fetch_listing(session, timeout=timeout)

        listing = await run_attempts(attempt, plan, backend.gate)
        assert any(t["name"] == "work" for t in listing.tools)
        assert received("method:tools/list") >= 2

    @pytest.mark.policy(
        "    idempotent_tools: [idem]\n    retry: {attempts: 2}\n    request_timeout: 2s\n    deadline: 5s\n"
    )
    async def test_503_with_retry_after_waits_before_trying_again(self, client: Any) -> None:
        """Item 9."""
        fault("idem", "503", retry_after=1)
        started = time.monotonic()
        assert (await client.call_tool("f_idem", {"tag": "e"})).data == "done e"
        assert time.monotonic() - started >= 1.0
        assert executions("idem") == 1

    @pytest.mark.policy("    idempotent_tools: [idem]\n    retry: {attempts: 2}\n    request_timeout: 1s\n")
    async def test_a_retry_after_longer_than_the_deadline_fails_at_once(self, client: Any) -> None:
        fault("idem", "503", retry_after=30)
        started = time.monotonic()
        with pytest.raises(MCPError) as caught:
            await client.call_tool("f_idem", {"tag": "f"})
        assert time.monotonic() - started < 0.5
        assert caught.value.error.data["reason"] == "rejected"
        assert caught.value.error.data["retry_after_seconds"] == 30

    @pytest.mark.policy(
        "    idempotent_tools: [idem, slow]\n    retry: {attempts: 3}\n    request_timeout: 1s\n    deadline: 2s\n"
    )
    async def test_the_deadline_includes_every_try(self, client: Any) -> None:
        """Item 10: per-try 1 s, 3 attempts, overall 2 s: done within 2 s + 100 ms."""
        started = time.monotonic()
        with pytest.raises(MCPError):
            await client.call_tool("f_slow", {"ms": 5000})
        assert time.monotonic() - started <= 2.1

    @pytest.mark.policy("    idempotent_tools: ['*']\n    retry: {attempts: 3}\n")
    async def test_nothing_is_retried_once_part_of_the_answer_reached_the_client(self, client: Any) -> None:
        """Item 13: progress reached the client, then the connection broke."""
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        fault("long", "drop_mid")
        with pytest.raises(MCPError):
            await client.call_tool("f_long", {"steps": 3}, progress_handler=on_progress)
        assert executions("long") == 1
        assert progress, "the first part of the answer was relayed"


@pytest.mark.asyncio
@pytest.mark.usefixtures("untraced")
@pytest.mark.parametrize("front", ["relay", "fast path"])
async def test_nothing_is_retried_once_the_client_was_asked_something(front: str) -> None:
    """A question put to the client (sampling) is part of the answer it has seen: when the
    connection breaks after it, the call fails rather than runs (and asks) again, on the full
    relay (in memory) and on the fast path (the HTTP front) alike."""
    gateway = gateway_for("    idempotent_tools: ['*']\n    retry: {attempts: 3}\n")
    asked: list[str] = []

    async def on_sampling(messages: Any, params: Any, context: Any) -> str:
        asked.append(messages[0].content.text)
        return "yes"

    fault("ask", "drop_mid")
    async with AsyncExitStack() as stack:
        if front == "relay":
            client = await stack.enter_async_context(
                connected(gateway, mode="legacy", sampling_handler=on_sampling)
            )
        else:
            server = await stack.enter_async_context(http_front(gateway))
            client = await stack.enter_async_context(
                server.client(mode="legacy", sampling_handler=on_sampling)
            )
        await client.call_tool_mcp("f_idem", {})  # the front learns the session here
        served = gateway.metrics.fast_path.labels("tools/call")._value.get()
        with pytest.raises(MCPError):
            await client.call_tool_mcp("f_ask", {})
        took_fast = gateway.metrics.fast_path.labels("tools/call")._value.get() - served
    assert (executions("ask"), asked, took_fast) == (1, ["go?"], int(front == "fast path"))


@pytest.mark.asyncio
class TestBreakerAndCaps:
    @pytest.mark.policy("    circuit_breaker: {consecutive_failures: 2, base_ejection: 30s}\n")
    async def test_an_open_breaker_fails_fast_and_names_the_backend(self, client: Any) -> None:
        """Item 16."""
        for _ in range(2):
            fault("work", "drop")
            with pytest.raises(MCPError):
                await client.call_tool("f_work", {})
        started = time.monotonic()
        with pytest.raises(MCPError) as caught:
            await client.call_tool("f_work", {})
        assert time.monotonic() - started < 0.05
        assert caught.value.error.code == BACKEND_UNAVAILABLE
        assert caught.value.error.data == {
            "backend": "f",
            "reason": "circuit_open",
            "retry_after_seconds": pytest.approx(30, abs=1),
        }
        assert executions("work") == 2

    @pytest.mark.policy("    max_concurrent: 2\n")
    async def test_overflow_is_refused_at_once_not_queued(self, client: Any) -> None:
        """Item 17."""
        outcomes: list[str] = []

        async def call() -> None:
            try:
                await client.call_tool("f_slow", {"ms": 500})
                outcomes.append("ok")
            except MCPError as error:
                outcomes.append(str(error.error.data.get("reason")) if error.error.data else "error")
                assert error.error.code == REQUEST_REJECTED

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(call)
        assert sorted(outcomes) == ["ok", "ok", "overloaded"]


@pytest.mark.asyncio
async def test_a_dead_backend_does_not_take_the_others_down(tmp_path: Path) -> None:
    """Item 19: listing keeps the healthy backend; its calls work; the dead one is reported."""
    gateway = make_gateway(
        f"backends:\n  e:\n    module: tests.fakes.echo\n  dead:\n    url: http://127.0.0.1:{free_port()}/mcp\n"
        "    connect_timeout: 1s\n"
    )
    async with connected(gateway, mode="legacy") as client:
        names = {t.name for t in await client.list_tools()}
        assert "e_echo" in names and not any(n.startswith("dead_") for n in names)
        assert (await client.call_tool("e_echo", {"text": "alive"})).data == "alive"
        assert gateway.backends["dead"].state == "failed"


@pytest.mark.asyncio
class TestDeadlines:
    @pytest.mark.policy("    tool_timeouts: {slow: 300ms}\n")
    async def test_a_tool_can_have_its_own_timeout(self, client: Any) -> None:
        started = time.monotonic()
        with pytest.raises(MCPError) as caught:
            await client.call_tool("f_slow", {"ms": 3000})
        assert time.monotonic() - started < 1.5
        assert caught.value.error.data == {"backend": "f", "reason": "timeout"}

    @pytest.mark.policy("    idempotent_tools: [slow]\n    retry: {attempts: 3}\n")
    async def test_a_cancelled_call_is_cancelled_at_the_backend_and_not_tried_again(
        self, client: Any
    ) -> None:
        """Item 14."""
        with pytest.raises(MCPError):
            await client.call_tool("f_slow", {"ms": 3000}, timeout=0.3)
        assert received("slow") == 1
        assert client.gateway.backends["f"].stats["retries"] == 0


def test_defaults_are_finite() -> None:
    """Item 20: a backend that never answers cannot pin a worker."""
    backend = gateway_for().config.backends["f"]
    assert backend.connect_timeout == 10 and backend.request_timeout == 60 and backend.overall_deadline == 60
    assert backend.retry.attempts == 1, "no retries of work that may have run unless asked"
