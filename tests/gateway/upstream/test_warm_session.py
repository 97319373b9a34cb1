"""A shared backend opens the session plain clients share when it lists its catalog, so the first
such client's call waits for no process to start (issue 11: the first call answers like the tenth)."""

from __future__ import annotations

import pytest

from tests.conftest import connected, make_gateway


@pytest.mark.asyncio
async def test_the_first_plain_client_finds_its_session_open() -> None:
    gateway = make_gateway("backends:\n  st: {module: tests.fakes.stateful, session: pooled}\n")
    gateway.fleet.warm_sessions = True  # as `gateway run` does
    async with connected(gateway, mode="legacy") as client:
        await gateway.ensure_catalogs()
        backend = gateway.backends["st"]
        opened = len(backend.open_sessions())
        assert opened == 3, "the gateway's own session, and one per era for clients that declare nothing"
        assert (await client.call_tool("st_increment", {})).data >= 1
        assert len(backend.open_sessions()) == opened, "the client's call opened no session"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "config", ["st: {module: tests.fakes.stateful}", "st: {module: tests.fakes.stateful, session: pooled}"]
)
async def test_nothing_is_warmed_for_clients_own_sessions_or_for_a_command(config: str) -> None:
    """A per-client backend shares no session; a one-off command (`gateway call`) serves no one."""
    gateway = make_gateway(f"backends:\n  {config}\n")
    gateway.fleet.warm_sessions = "pooled" not in config
    async with connected(gateway, mode="2026-07-28"):
        await gateway.ensure_catalogs()
        assert len(gateway.backends["st"].open_sessions()) == 1
