"""Server→client requests through the gateway, in and across the protocol eras.

A handshake-era backend pushes elicitation, sampling and roots requests mid-call; a 2026-07-28
backend returns `input_required`. Each client gets them the way its own era asks for them.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp.client.elicitation import ElicitResult

from tests.conftest import connected, make_gateway

LEGACY_BACKEND = """
backends:
  st:
    module: tests.fakes.stateful
    mode: legacy
"""
MODERN_BACKEND = """
backends:
  ask:
    module: tests.fakes.asking
    mode: "2026-07-28"
"""


async def answer_elicitation(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
    return ElicitResult(action="accept", content={"answer": f"yes to {message}", "value": True})


async def answer_sampling(messages: Any, params: Any, context: Any) -> str:
    return f"sampled {messages[0].content.text}"


@pytest.mark.asyncio
class TestPushingBackend:
    """A handshake-era backend, clients of both eras."""

    async def test_elicitation(self, era: str) -> None:
        async with connected(
            make_gateway(LEGACY_BACKEND), mode=era, elicitation_handler=answer_elicitation
        ) as c:
            result = await c.call_tool("st_ask", {"question": "proceed?"})
        assert result.data == "accept:yes to proceed?"

    async def test_sampling(self, era: str) -> None:
        async with connected(make_gateway(LEGACY_BACKEND), mode=era, sampling_handler=answer_sampling) as c:
            result = await c.call_tool("st_sample", {"prompt": "hello"})
        assert result.data == "sampled hello"

    async def test_roots(self, era: str) -> None:
        async with connected(
            make_gateway(LEGACY_BACKEND), mode=era, roots=["file:///work/a", "file:///work/b"]
        ) as c:
            result = await c.call_tool("st_roots", {})
        assert result.data == ["file:///work/a", "file:///work/b"]

    async def test_a_client_that_cannot_answer_gets_a_clear_tool_error(self) -> None:
        async with connected(make_gateway(LEGACY_BACKEND), mode="legacy") as c:
            result = await c.call_tool("st_ask", {"question": "proceed?"}, raise_on_error=False)
        assert result.is_error


@pytest.mark.asyncio
class TestAskingBackend:
    """A 2026-07-28 backend that returns input_required, clients of both eras."""

    async def test_confirm(self, era: str) -> None:
        async with connected(
            make_gateway(MODERN_BACKEND), mode=era, elicitation_handler=answer_elicitation
        ) as c:
            result = await c.call_tool("ask_confirm", {"question": "sure?"})
        assert result.data.startswith("accept:")
        assert "True" in result.data or "true" in result.data
