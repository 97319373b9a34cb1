"""Backend sessions: persistent, per client where the backend keeps state, notifications routed."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from fastmcp.client.messages import MessageHandler
from mcp.shared.exceptions import MCPError

from gateway.errors import BACKEND_SESSION_LOST
from tests.conftest import ROOT, connected, make_gateway
from tests.fakes import stateful

PER_CLIENT = """
backends:
  st:
    module: tests.fakes.stateful
    mode: legacy
    session: per_client
"""
POOLED = """
backends:
  st:
    module: tests.fakes.stateful
    mode: legacy
    session: pooled
"""


class Recorder(MessageHandler):
    """Collects the notifications a client receives."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, Any]] = []
        self.arrived = anyio.Event()

    async def on_notification(self, message: Any) -> None:
        root = getattr(message, "root", message)
        self.seen.append((root.method, getattr(root, "params", None)))
        self.arrived.set()

    def methods(self) -> list[str]:
        return [m for m, _ in self.seen]


@pytest.mark.asyncio
class TestSessionScope:
    async def test_per_client_backends_keep_each_clients_state_apart(self) -> None:
        gateway = make_gateway(PER_CLIENT)
        async with connected(gateway, mode="legacy") as a, connected(gateway, mode="legacy") as b:
            assert [(await a.call_tool("st_increment", {})).data for _ in range(3)] == [1, 2, 3]
            assert (await b.call_tool("st_increment", {})).data == 1
            assert (await a.call_tool("st_increment", {})).data == 4
            assert len(gateway.backends["st"].open_sessions()) >= 2

    async def test_pooled_backends_reuse_one_session(self) -> None:
        gateway = make_gateway(POOLED)
        async with connected(gateway, mode="legacy") as a:
            await a.call_tool("st_increment", {})
            opened = set(gateway.backends["st"].open_sessions())
            for _ in range(5):
                await a.call_tool("st_increment", {})
            assert set(gateway.backends["st"].open_sessions()) == opened
            assert not any(s.owner_key for s in opened), "shared sessions belong to no client"

    async def test_a_client_session_closing_closes_its_backend_session(self) -> None:
        gateway = make_gateway(PER_CLIENT)
        async with connected(gateway, mode="legacy") as keeper:
            await keeper.call_tool("st_increment", {})
            kept = set(gateway.backends["st"].open_sessions())
            async with connected(gateway, mode="legacy") as leaver:
                await leaver.call_tool("st_increment", {})
                (its_own,) = set(gateway.backends["st"].open_sessions()) - kept
            with anyio.fail_after(5):
                await its_own.wait_closed()
            assert set(gateway.backends["st"].open_sessions()) == kept


@pytest.mark.asyncio
class TestListChanged:
    async def test_a_backend_change_reaches_every_client_once(self, era: str) -> None:
        gateway = make_gateway(POOLED)
        gateway.notifier.window = 0
        watcher = Recorder()
        async with connected(gateway, mode="legacy", message_handler=watcher) as watching:
            await watching.list_tools()
            async with connected(gateway, mode="legacy") as actor:
                await actor.call_tool("st_grow", {"name": "fresh"})
                with anyio.fail_after(5):
                    await watcher.arrived.wait()
                assert "st_fresh" in {t.name for t in await watching.list_tools()}
        assert watcher.methods().count("notifications/tools/list_changed") == 1

    async def test_a_per_client_change_reaches_only_that_client(self) -> None:
        gateway = make_gateway(PER_CLIENT)
        gateway.notifier.window = 0
        a_seen, b_seen = Recorder(), Recorder()
        async with (
            connected(gateway, mode="legacy", message_handler=a_seen) as a,
            connected(gateway, mode="legacy", message_handler=b_seen) as b,
        ):
            await b.list_tools()
            await a.call_tool("st_grow", {"name": "mine"})
            with anyio.fail_after(5):
                await a_seen.arrived.wait()
            assert "st_mine" in {t.name for t in await a.list_tools()}
            assert b_seen.methods() == []

    async def test_a_burst_of_changes_becomes_one_notification(self) -> None:
        gateway = make_gateway(POOLED)
        watcher = Recorder()
        async with connected(gateway, mode="legacy", message_handler=watcher) as client:
            await client.list_tools()
            for _ in range(10):
                gateway.notifier.list_changed(["tools", "prompts"])
            await gateway.notifier.flush()
        assert sorted(watcher.methods()) == [
            "notifications/prompts/list_changed",
            "notifications/tools/list_changed",
        ]


@pytest.mark.asyncio
class TestSubscriptions:
    async def test_updates_reach_exactly_the_subscribers_and_the_backend_is_subscribed_once(self) -> None:
        gateway = make_gateway(POOLED)
        uri = "state://st/counter"
        a_seen, b_seen, c_seen = Recorder(), Recorder(), Recorder()
        async with (
            connected(gateway, mode="legacy", message_handler=a_seen) as a,
            connected(gateway, mode="legacy", message_handler=b_seen) as b,
            connected(gateway, mode="legacy", message_handler=c_seen) as c,
        ):
            await a.session.subscribe_resource(uri)
            await b.session.subscribe_resource(uri)
            await c.list_resources()
            assert stateful.subscriber_count("state://counter") == 1
            assert (await c.call_tool("st_touch", {"uri": "state://counter"})).data == 1
            with anyio.fail_after(5):
                await a_seen.arrived.wait()
                await b_seen.arrived.wait()
            assert a_seen.seen == [("notifications/resources/updated", a_seen.seen[0][1])]
            assert str(a_seen.seen[0][1].uri) == uri
            assert c_seen.seen == []
            await a.session.unsubscribe_resource(uri)
            await b.session.unsubscribe_resource(uri)
            assert stateful.subscriber_count("state://counter") == 0


STDIO = f"""
backends:
  st:
    command: [python, -m, tests.fakes.stateful]
    cwd: {ROOT}
    mode: legacy
"""


@pytest.mark.asyncio
class TestFailures:
    async def test_a_session_that_dies_mid_call_is_an_error_not_a_hang_and_is_reopened(
        self, era: str
    ) -> None:
        gateway = make_gateway(STDIO)
        async with connected(gateway, mode=era) as client:
            assert (await client.call_tool("st_increment", {})).data == 1
            with anyio.fail_after(10), pytest.raises(MCPError) as caught:
                await client.call_tool("st_crash", {})
            assert caught.value.error.code == BACKEND_SESSION_LOST
            assert "backend 'st'" in caught.value.error.message
            assert (await client.call_tool("st_increment", {})).data == 1, (
                "a fresh process serves the next call"
            )

    async def test_cancelling_a_call_cancels_it_at_the_backend(self) -> None:
        gateway = make_gateway(STDIO)
        async with connected(gateway, mode="legacy") as client:
            await client.call_tool("st_cancelled", {})  # the client's own backend process is up
            with pytest.raises(MCPError):
                await client.call_tool("st_wait_for_cancel", {"seconds": 30, "tag": "first"}, timeout=0.3)
            with anyio.fail_after(5):
                # The backend is another process: asking it is the only way to observe it.
                while "first" not in (await client.call_tool("st_cancelled", {})).data:  # noqa: ASYNC110
                    await anyio.sleep(0.02)
