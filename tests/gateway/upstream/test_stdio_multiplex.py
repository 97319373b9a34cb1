"""A stdio backend declared stateless serves several calls at once on one process (JSON-RPC ids
tell them apart), where by default a stdio session serves one call at a time."""

from __future__ import annotations

import anyio
import pytest

from tests.conftest import PYTHON, ROOT, connected, make_gateway

CONFIG = f"""
backends:
  rv:
    command: ["{PYTHON}", -m, tests.fakes.rendezvous]
    cwd: "{ROOT}"
    session: pooled
"""


@pytest.mark.asyncio
async def test_three_clients_meet_inside_one_process() -> None:
    gateway = make_gateway(CONFIG)
    met: list[int] = []
    async with connected(gateway, mode="legacy") as first:
        await first.list_tools()
        async with (
            connected(gateway, mode="legacy") as second,
            connected(gateway, mode="legacy") as third,
        ):

            async def meet(client: object) -> None:
                met.append((await client.call_tool("rv_meet", {"n": 3})).data)  # type: ignore[attr-defined]

            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    for client in (first, second):
                        group.start_soon(meet, client)
                    group.start_soon(meet, third)
        assert met == [3, 3, 3], "each call saw the other two inside the same process"
        assert len(gateway.backends["rv"].open_sessions()) <= 2  # the clients' one, the listing's
