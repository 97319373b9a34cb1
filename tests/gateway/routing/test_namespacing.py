"""Name collisions are prevented by namespacing (RELIABILITY.md §5 item 30): two backends that
serve the same tool, prompt and resource names are both served, each under its own namespace,
each call reaching its own backend; nothing collides. In process, both eras.
"""

from __future__ import annotations

import pytest

from tests.conftest import connected, make_gateway

SAME_NAMES = """
backends:
  one: {module: tests.fakes.stateful, session: pooled, mode: legacy}
  two: {module: "tests.fakes.stateful:mcp", session: pooled, mode: legacy}
"""


@pytest.mark.asyncio
async def test_backends_with_the_same_names_are_served_apart(era: str) -> None:
    gateway = make_gateway(SAME_NAMES)
    async with connected(gateway, mode=era) as client:
        tools = {t.name for t in await client.list_tools()}
        counts = [(await client.call_tool(name, {})).data for name in ("one_increment", "one_increment")]
        other = (await client.call_tool("two_increment", {})).data
        resources = {str(r.uri) for r in await client.list_resources()}
    assert {"one_increment", "two_increment"} <= tools and "increment" not in tools
    assert {"state://one/counter", "state://two/counter"} <= resources
    assert gateway.index.collisions == []
    assert (gateway.index.tools["one_increment"].backend, gateway.index.tools["two_increment"].backend) == (
        "one",
        "two",
    )
    assert counts == [1, 2] and other == 1, "each backend's session counted only its own calls"
