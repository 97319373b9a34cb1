"""Lists are answered from their cached wire form until the index they came from changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TWO_BACKENDS, connected, make_gateway


def counting(gateway: Any) -> list[str]:
    """Record every list the relay really builds."""
    built: list[str] = []
    original = gateway.relay._list

    async def spy(ctx: Any, params: Any, method: str) -> Any:
        built.append(method)
        return await original(ctx, params, method)

    gateway.relay._list = spy
    return built


@pytest.mark.asyncio
async def test_a_repeated_list_is_served_from_the_cache_until_the_index_changes(era: str) -> None:
    gateway = make_gateway(TWO_BACKENDS)
    built = counting(gateway)
    async with connected(gateway, mode=era) as client:
        first = [t.model_dump() for t in await client.list_tools()]
        second = [t.model_dump() for t in await client.list_tools()]
        assert second == first and built.count("tools/list") == 1
        await client.list_prompts()
        await client.list_prompts()
        assert built.count("prompts/list") == 1

        gateway.rebuild_index()  # what a backend's list_changed or a health verdict does
        third = [t.model_dump() for t in await client.list_tools()]
        assert third == first and built.count("tools/list") == 2


@pytest.mark.asyncio
async def test_each_page_is_its_own_entry() -> None:
    gateway = make_gateway(TWO_BACKENDS + "gateway:\n  list_page_size: 2\n")
    built = counting(gateway)
    async with connected(gateway) as client:
        names = [t.name for t in await client.list_tools()]
        again = [t.name for t in await client.list_tools()]
    assert names == again and len(names) > 2
    pages = built.count("tools/list")
    assert pages == -(-len(names) // 2)  # every page built once, then served from the cache
    assert len(gateway.list_cache) >= pages


@pytest.mark.asyncio
async def test_the_cache_is_bounded() -> None:
    gateway = make_gateway(TWO_BACKENDS)
    gateway.list_cache._max = 2
    async with connected(gateway) as client:
        for _ in range(3):
            gateway.rebuild_index()
            await client.list_tools()
            await client.list_prompts()
    assert len(gateway.list_cache) == 2


@pytest.mark.asyncio
async def test_a_first_healthy_verdict_keeps_the_cache_a_return_from_hiding_drops_it() -> None:
    """The first passing probe of a backend already listed changes nothing clients see: the
    index stays the same object, so the lists cached from it stay too (with ten backends, ten
    such verdicts used to rebuild the index ten times and send lists back to the full relay)."""
    gateway = make_gateway(TWO_BACKENDS)
    built = counting(gateway)
    async with connected(gateway) as client:
        await client.list_tools()
        backend = gateway.fleet.backends["echo"]
        assert backend.health is not None and backend.health.verdict == "unknown"
        index = gateway.directory.index
        await backend.health.check_once()
        assert backend.health.verdict == "healthy" and gateway.directory.index is index
        await client.list_tools()
        assert built.count("tools/list") == 1

        backend.hidden = True  # what a backend down past its grace period is
        gateway.rebuild_index()
        hidden = [t.name for t in await client.list_tools()]
        backend.health.verdict = "unhealthy"
        await backend.health.check_once()
        shown = [t.name for t in await client.list_tools()]
        assert backend.health.verdict == "healthy" and not backend.hidden
        assert len(shown) > len(hidden) and built.count("tools/list") == 3
