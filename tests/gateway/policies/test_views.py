"""Per-principal views, in process: what each API key lists, calls, reads and gets, in both eras.

Driven through the gateway's real HTTP front (authentication included) on FastMCP's in-process
ASGI transport: no socket, no Node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import make_gateway
from tests.gateway.authed import http_front

OPS = "ops-key-0123456789abcdef"  # no view: everything
ANALYST = "analyst-key-0123456789ab"  # view `echo-only`: the echo backend, minus slow_count
SCOPED = "scoped-key-0123456789abc"  # view `rich-readers`: rich, but its tools need a scope
CONFIG = f"""
auth:
  api_keys:
    ops: {{key: "{OPS}", scopes: [admin]}}
    analyst: {{key: "{ANALYST}"}}
    scoped: {{key: "{SCOPED}"}}
views:
  echo-only:
    principals: [analyst]
    namespaces: [echo]
    deny_tools: [echo_slow_count]
  rich-readers:
    principals: [scoped]
    namespaces: [r]
tool_scopes:
  "r_*": [admin]
backends:
  echo: {{module: tests.fakes.echo}}
  rich: {{module: tests.fakes.rich, namespace: r}}
"""


@pytest.mark.asyncio
class TestWhatEachPrincipalSees:
    async def test_a_principal_in_no_view_sees_every_backend(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=OPS, mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
        assert {"echo_echo", "echo_slow_count", "r_shape", "r_media"} <= tools

    async def test_a_view_lists_only_its_namespaces_minus_denied_tools(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=ANALYST, mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
            prompts = {p.name for p in await client.list_prompts()}
            templates = {t.uri_template for t in await client.list_resource_templates()}
        assert "echo_echo" in tools and "echo_slow_count" not in tools
        assert not {t for t in tools if t.startswith("r_")}
        assert prompts == {"echo_shout"}
        assert all(t.startswith("echo://echo/") for t in templates)

    async def test_tool_scopes_hide_tools_from_a_principal_without_the_scope(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=SCOPED, mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
        assert not {t for t in tools if t.startswith("r_")}, tools


@pytest.mark.asyncio
class TestHiddenAnswersLikeUnknown:
    async def test_a_hidden_tool_answers_exactly_like_one_that_does_not_exist(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=ANALYST, mode=era) as client:
            hidden = await client.call_tool_mcp("r_shape", {"name": "x"})
            denied = await client.call_tool_mcp("echo_slow_count", {"n": 1})
            missing = await client.call_tool_mcp("r_no_such_tool", {"name": "x"})
        texts = [r.content[0].text for r in (hidden, denied, missing)]  # type: ignore[union-attr]
        assert [r.is_error for r in (hidden, denied, missing)] == [True, True, True]
        assert texts == [
            "Unknown tool: 'r_shape'",
            "Unknown tool: 'echo_slow_count'",
            "Unknown tool: 'r_no_such_tool'",
        ]

    async def test_a_hidden_prompt_and_resource_answer_like_unknown_ones(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=SCOPED, mode=era) as client:
            with pytest.raises(MCPError) as hidden_prompt:
                await client.get_prompt("echo_shout", {"word": "x"})
            with pytest.raises(MCPError) as missing_prompt:
                await client.get_prompt("echo_nothing", {"word": "x"})
            with pytest.raises(MCPError) as hidden_read:
                await client.read_resource("echo://echo/greeting")
        assert hidden_prompt.value.error.code == missing_prompt.value.error.code
        assert hidden_prompt.value.error.message == "Unknown prompt: 'echo_shout'"
        assert hidden_read.value.error.message == "Resource not found: 'echo://echo/greeting'"

    async def test_a_visible_tool_works_for_the_same_principal(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=ANALYST, mode=era) as client:
            result = await client.call_tool("echo_echo", {"text": "seen"})
        assert result.structured_content == {"result": "seen"}


@pytest.mark.asyncio
async def test_a_call_outside_the_view_is_audited_as_denied(era: str, tmp_path: Path) -> None:
    """The audit trail records a refused call with its principal, without saying what exists."""
    audit = tmp_path / "audit.jsonl"
    gateway = make_gateway(CONFIG + f"audit: {{sink: '{audit}'}}\n")
    async with http_front(gateway) as front, front.client(auth=ANALYST, mode=era) as client:
        await client.call_tool_mcp("r_shape", {"name": "x"})
        await client.call_tool("echo_echo", {"text": "ok"})
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    by_tool = {r["tool"]: r for r in records}
    assert by_tool["r_shape"]["outcome"] == "denied" and by_tool["r_shape"]["principal"] == "analyst"
    assert by_tool["r_shape"]["backend"] is None
    assert by_tool["echo_echo"]["outcome"] == "ok" and by_tool["echo_echo"]["attempts"] == 1
