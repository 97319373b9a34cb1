"""2026-07-28 clients hear about changes on `subscriptions/listen` streams."""

from __future__ import annotations

import anyio
import pytest
from mcp.client.subscriptions import ResourceUpdated, ToolsListChanged, listen

from tests.conftest import connected, make_gateway
from tests.fakes import stateful

POOLED = """
backends:
  st:
    module: tests.fakes.stateful
    mode: legacy
    session: pooled
"""


@pytest.mark.asyncio
class TestListen:
    async def test_the_gateway_advertises_listen_based_change_notifications(self) -> None:
        async with connected(make_gateway(POOLED)) as client:
            capabilities = client.session.server_capabilities
        assert capabilities is not None and capabilities.tools is not None
        assert capabilities.tools.list_changed is True
        assert capabilities.resources is not None and capabilities.resources.subscribe is True

    async def test_a_tool_list_change_reaches_a_listening_client(self) -> None:
        gateway = make_gateway(POOLED)
        gateway.notifier.window = 0
        async with connected(gateway) as modern, connected(gateway, mode="legacy") as actor:
            async with listen(modern.session, tools_list_changed=True) as stream:
                await actor.call_tool("st_grow", {"name": "heard"})
                with anyio.fail_after(5):
                    event = await stream.__anext__()
            assert isinstance(event, ToolsListChanged)
            assert "st_heard" in {t.name for t in await modern.list_tools()}

    async def test_resource_updates_reach_a_listening_client(self) -> None:
        gateway = make_gateway(POOLED)
        async with connected(gateway) as modern, connected(gateway, mode="legacy") as actor:
            async with listen(modern.session, resource_subscriptions=["state://st/counter"]) as stream:
                assert stateful.subscriber_count("state://counter") == 1
                await actor.call_tool("st_touch", {"uri": "state://counter"})
                with anyio.fail_after(5):
                    event = await stream.__anext__()
            assert event == ResourceUpdated(uri="state://st/counter")
            with anyio.fail_after(5):
                # The gateway releases the stream's subscriptions as the stream winds down.
                while stateful.subscriber_count("state://counter"):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            assert gateway.subscriptions.subscribers("state://st/counter") == set()
