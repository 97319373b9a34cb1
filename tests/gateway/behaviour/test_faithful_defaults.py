"""The defaults keep each client's backend state its own, and bounded (in memory, both eras).

What a plain backend entry (no `mode`, no `session`) gives: a handshake-era client's own
backend session, opened on first need and capped per principal; a backend outside a caller's
view is never contacted; a client slow to answer a push holds no other client back; a 2026
client that gives up cancels the call at a handshake-era backend; roots changes reach the
client's own backend session.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp.client.elicitation import ElicitResult
from mcp.shared.exceptions import MCPError

from tests.conftest import PYTHON, ROOT, connected, make_gateway
from tests.fakes import stateful
from tests.gateway.authed import http_front

KEY = "ops-key-0123456789abcdef"
ANALYST = "analyst-key-0123456789ab"
PLAIN = """
backends:
  st:
    module: tests.fakes.stateful
"""


def bound(gateway: Any, name: str = "st") -> int:
    """Backend sessions owned by a client."""
    return sum(1 for s in gateway.backends[name].open_sessions() if s.owner_key)


@pytest.mark.asyncio
class TestOwnSessions:
    async def test_a_plain_entry_gives_each_handshake_client_its_own_state(self) -> None:
        gateway = make_gateway(PLAIN)
        async with connected(gateway, mode="legacy") as a, connected(gateway, mode="legacy") as b:
            assert [(await a.call_tool("st_increment", {})).data for _ in range(2)] == [1, 2]
            assert (await b.call_tool("st_increment", {})).data == 1
            assert bound(gateway) == 2

    async def test_a_principal_past_its_cap_is_told_so_and_others_are_not(self, era: str) -> None:
        config = f"""
auth:
  api_keys:
    ops: {{key: "{KEY}"}}
    analyst: {{key: "{ANALYST}"}}
backends:
  st:
    module: tests.fakes.stateful
    max_client_sessions_per_principal: 1
"""
        gateway = make_gateway(config)
        async with http_front(gateway) as front, front.client(auth=KEY, mode="legacy") as first:
            await first.call_tool("st_increment", {})
            async with front.client(auth=KEY, mode="legacy") as second:
                with pytest.raises(MCPError, match="max_client_sessions_per_principal: 1"):
                    await second.call_tool("st_increment", {})
            async with front.client(auth=ANALYST, mode="legacy") as other:
                assert (await other.call_tool("st_increment", {})).data == 1
            async with front.client(auth=KEY, mode="2026-07-28") as stateless:
                # 2026-07-28 calls hold no session of their own: never counted against the cap
                assert (await stateless.call_tool("st_increment", {})).data >= 1


@pytest.mark.asyncio
async def test_a_backend_outside_the_view_is_never_contacted(era: str) -> None:
    config = f"""
auth:
  api_keys:
    analyst: {{key: "{ANALYST}"}}
views:
  analyst: {{principals: [analyst], namespaces: [echo]}}
backends:
  echo: {{module: tests.fakes.echo}}
  st: {{module: tests.fakes.stateful}}
"""
    gateway = make_gateway(config)
    async with http_front(gateway) as front, front.client(auth=ANALYST, mode=era) as client:
        before = len(gateway.backends["st"].open_sessions())
        tools = {t.name for t in await client.list_tools()}
        await client.call_tool_mcp("st_increment", {})
        await client.call_tool("echo_echo", {"text": "x"})
        with pytest.raises(MCPError):
            await client.read_resource("state://st/counter")
        assert len(gateway.backends["st"].open_sessions()) == before
    assert not any(name.startswith("st_") for name in tools)


@pytest.mark.asyncio
async def test_a_client_slow_to_answer_a_push_holds_no_one_back() -> None:
    """A stateless backend with a pool of one session: a push left waiting does not block it."""
    gateway = make_gateway(
        "backends:\n  st:\n    module: tests.fakes.stateful\n    mode: legacy\n"
        "    session: pooled\n    max_sessions: 1\n"
    )
    asked = anyio.Event()
    answer = anyio.Event()

    async def slow(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
        asked.set()
        await answer.wait()
        return ElicitResult(action="accept", content={"answer": "at last"})

    async with (
        connected(gateway, mode="legacy", elicitation_handler=slow) as slow_client,
        connected(gateway, mode="legacy") as other,
        anyio.create_task_group() as group,
    ):
        results: list[str] = []

        async def ask() -> None:
            results.append((await slow_client.call_tool("st_ask", {"question": "?"})).data)

        group.start_soon(ask)
        await asked.wait()
        with anyio.fail_after(5):
            assert (await other.call_tool("st_increment", {})).data >= 1
        answer.set()
    assert results == ["accept:at last"]


@pytest.mark.asyncio
async def test_a_2026_client_giving_up_cancels_the_call_at_a_handshake_era_backend(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    gateway = make_gateway("backends:\n  st:\n    module: tests.fakes.stateful\n    mode: legacy\n")
    import os

    os.environ["STATEFUL_MARKER"] = str(marker)
    try:
        async with connected(gateway, mode="2026-07-28") as client:
            with pytest.raises(MCPError):
                await client.call_tool("st_wait_for_cancel", {"seconds": 30, "tag": "abandoned"}, timeout=0.5)
            with anyio.fail_after(5):
                while "abandoned" not in stateful.cancelled():  # noqa: ASYNC110 - the backend's own record
                    await anyio.sleep(0.02)
    finally:
        os.environ.pop("STATEFUL_MARKER", None)


@pytest.mark.asyncio
async def test_a_roots_change_reaches_the_clients_own_backend_session() -> None:
    gateway = make_gateway(PLAIN)
    heard = stateful.roots_changes()
    async with connected(gateway, mode="legacy", roots=["file:///one"]) as client:
        assert (await client.call_tool("st_roots", {})).data == ["file:///one"]
        await client.send_roots_list_changed()
        with anyio.fail_after(5):
            while stateful.roots_changes() == heard:  # noqa: ASYNC110 - the backend's own record
                await anyio.sleep(0.02)


def _children() -> int:
    """Processes this test process started (a stdio backend session is one)."""
    me, count = os.getpid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            count += int(fields[1]) == me
    return count


@pytest.mark.asyncio
async def test_eight_clients_of_a_principal_that_cannot_see_a_stdio_backend_start_no_process() -> None:
    """The issue's case: eight handshake clients used to start eight processes (91 → 819 MB)."""
    config = f"""
auth:
  api_keys:
    analyst: {{key: "{ANALYST}"}}
views:
  analyst: {{principals: [analyst], namespaces: [echo]}}
backends:
  echo: {{module: tests.fakes.echo}}
  st: {{command: ["{PYTHON}", -m, tests.fakes.stateful], cwd: "{ROOT}"}}
"""
    gateway = make_gateway(config)
    async with http_front(gateway) as front:
        await gateway.ensure_catalogs()
        before = (_children(), len(gateway.backends["st"].open_sessions()))
        async with AsyncExitStack() as stack:
            for _ in range(8):
                client = await stack.enter_async_context(front.client(auth=ANALYST, mode="legacy"))
                await client.list_tools()
                await client.call_tool_mcp("st_increment", {})
                await client.call_tool("echo_echo", {"text": "x"})
            during = (_children(), len(gateway.backends["st"].open_sessions()))
    assert during == before
