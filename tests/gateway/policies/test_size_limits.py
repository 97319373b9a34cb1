"""Size limits inside a request and on an answer, at the gateway's defaults (RELIABILITY.md §5
items 21 and 22): a call's `_meta` past 16 keys, 3 levels or 4 KiB is refused before it reaches
the backend; an answer over 1 000 000 bytes is cut with a marker, or refused.

The checklist quotes ContextForge's `_meta` depth of 2; the gateway's documented default
(`limits.max_meta_depth`) is 3, and that is what is tested here. In process, both eras.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types
import pytest
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from gateway.config.security import Limits
from gateway.errors import REQUEST_REJECTED
from gateway.policies.size import MARKER
from tests.conftest import connected, dump, make_gateway

STATEFUL = """
backends:
  st:
    module: tests.fakes.stateful
    session: pooled
"""


def keys(count: int) -> dict[str, Any]:
    return {f"k{i}": i for i in range(count)}


def deep(levels: int) -> dict[str, Any]:
    """A `_meta` nesting `levels` levels (`{"a": {"a": ... 1}}`)."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return dict(value)


async def call_with_meta(client: Client[Any], name: str, meta: dict[str, Any]) -> mcp_types.CallToolResult:
    """A `tools/call` whose `_meta` is exactly `meta` (plus, in 2026-07-28, the protocol's
    envelope), without the progress token the client would add."""
    params = mcp_types.CallToolRequestParams.model_validate({"name": name, "arguments": {}, "_meta": meta})
    request = mcp_types.CallToolRequest(params=params)
    return await client.session.send_request(request, mcp_types.CallToolResult)


def test_the_defaults_are_the_documented_ones() -> None:
    limits = Limits()
    assert (limits.max_meta_keys, limits.max_meta_depth, limits.max_meta_bytes) == (16, 3, 4096)
    assert limits.max_response_bytes == 1_000_000 and limits.oversized_response == "truncate"


@pytest.mark.asyncio
class TestMeta:
    @pytest.mark.parametrize(
        ("meta", "message"),
        [
            (keys(17), "_meta has 17 keys; the limit is 16"),
            (deep(4), "_meta nests deeper than 3 levels"),
            ({"blob": "x" * 4100}, "the limit is 4096"),
        ],
        ids=["17 keys", "4 levels", "over 4 KiB"],
    )
    async def test_an_oversized_meta_is_refused_and_the_tool_never_runs(
        self, era: str, meta: dict[str, Any], message: str
    ) -> None:
        async with connected(make_gateway(STATEFUL), mode=era) as client:
            with pytest.raises(MCPError) as refused:
                await call_with_meta(client, "st_increment", meta)
            after = (await client.call_tool("st_increment", {})).data
        assert refused.value.error.code == REQUEST_REJECTED
        assert message in refused.value.error.message
        assert after == 1, "the refused call never reached the backend"

    @pytest.mark.parametrize(
        "meta", [keys(16), deep(3), {"blob": "x" * 4000}], ids=["16 keys", "3 levels", "4000 bytes"]
    )
    async def test_a_meta_at_the_limits_is_served(self, era: str, meta: dict[str, Any]) -> None:
        """The protocol's own envelope keys (2026-07-28) do not count against the caller."""
        async with connected(make_gateway(STATEFUL), mode=era) as client:
            result = await call_with_meta(client, "st_increment", meta)
        assert result.structured_content == {"result": 1}


BULKY = "backends:\n  b: {module: tests.fakes.bulky}\n"


@pytest.mark.asyncio
class TestResponses:
    async def test_an_answer_over_1_mb_is_cut_to_the_limit_with_a_marker(self, era: str) -> None:
        async with connected(make_gateway(BULKY), mode=era) as client:
            result = dump(await client.call_tool_mcp("b_report", {"size": 1_200_000}))
        assert len(json.dumps(result, separators=(",", ":"))) <= 1_000_000
        marker = result["content"][-1]["text"]
        assert marker.startswith("[gateway: the answer was ") and "over the limit of 1000000" in marker
        assert "structuredContent" not in result and not result["isError"]

    async def test_an_answer_under_the_limit_is_whole(self, era: str) -> None:
        async with connected(make_gateway(BULKY), mode=era) as client:
            result = dump(await client.call_tool_mcp("b_report", {"size": 900_000}))
        assert len(result["content"][0]["text"]) == 900_000
        assert not any(MARKER.split("{")[0] in block.get("text", "")[-200:] for block in result["content"])

    async def test_reject_refuses_an_answer_over_the_limit(self, era: str) -> None:
        config = "limits: {oversized_response: reject}\n" + BULKY
        async with connected(make_gateway(config), mode=era) as client:
            with pytest.raises(MCPError) as refused:
                await client.call_tool_mcp("b_report", {"size": 1_200_000})
        assert refused.value.error.code == REQUEST_REJECTED
        assert "backend 'b' answered" in refused.value.error.message
        assert refused.value.error.message.endswith("the limit is 1000000")
