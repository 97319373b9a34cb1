"""Nothing outside a caller's view leaks through a side channel: the `Mcp-Param-*` header check
(2026-07-28 HTTP, before dispatch), the handshake's instructions (both eras), and the gateway's
own tools (workflows) follow the view like every backend tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import mcp_types
import pytest
from fastmcp.utilities.asgi_transport import run_asgi_lifespan

from tests.conftest import make_gateway
from tests.gateway.authed import http_front

OPS = "ops-key-0123456789abcdef"
ANALYST = "analyst-key-0123456789ab"
KEYS = f"""
auth:
  api_keys:
    ops: {{key: "{OPS}"}}
    analyst: {{key: "{ANALYST}"}}
"""
BACKENDS = """
backends:
  echo: {module: tests.fakes.echo}
  routed: {module: tests.fakes.routed, namespace: geo}
"""
ANALYSTS_SEE_ECHO = KEYS + "views:\n  analysts: {principals: [analyst], namespaces: [echo]}\n" + BACKENDS


async def _call_with_header(client: httpx2.AsyncClient, key: str, name: str) -> tuple[int, str]:
    """A 2026-07-28 `tools/call` whose `Mcp-Param-Region` header disagrees with its argument."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": {"region": "eu"}, "_meta": meta},
    }
    headers = {
        "authorization": f"Bearer {key}",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
        "mcp-param-region": "us",
    }
    response = await client.post("/mcp", json=body, headers=headers)
    return response.status_code, response.text.replace(name, "<name>")


@pytest.mark.asyncio
async def test_the_header_check_cannot_tell_a_hidden_tool_from_a_missing_one() -> None:
    gateway = make_gateway(ANALYSTS_SEE_ECHO)
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    transport = httpx2.ASGITransport(app=app)
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):
        await gateway.fleet.ensure_catalogs()
        seen_by_ops = await _call_with_header(client, OPS, "geo_route")
        hidden = await _call_with_header(client, ANALYST, "geo_route")
        missing = await _call_with_header(client, ANALYST, "geo_nothing")
    assert seen_by_ops[0] == 400 and "Mcp-Param-Region" in seen_by_ops[1], "the check is on"
    assert hidden == missing
    assert "Unknown tool" in hidden[1]


async def _instructions(gateway: Any, key: str, era: str) -> str:
    async with http_front(gateway) as front, front.client(auth=key, mode=era) as client:
        if era == "legacy":
            result = client.initialize_result
            assert result is not None
            return result.instructions or ""
        discover = mcp_types.DiscoverRequest(params=mcp_types.RequestParams())
        found = await client.session.send_request(discover, mcp_types.DiscoverResult)
        return found.instructions or ""


@pytest.mark.asyncio
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_instructions_name_only_the_backends_in_view(era: str) -> None:
    gateway = make_gateway(ANALYSTS_SEE_ECHO)
    for_ops = await _instructions(gateway, OPS, era)
    for_analyst = await _instructions(gateway, ANALYST, era)
    assert "routed" in for_ops and "secret-backend-marker" in for_ops
    assert "echo" in for_analyst
    assert "routed" not in for_analyst and "geo_" not in for_analyst
    assert "secret-backend-marker" not in for_analyst
    assert "serves 1 MCP servers" in for_analyst


WORKFLOW = """
workflows:
  shout_twice:
    description: Echo a word twice.
    inputs: {word: {type: string}}
    steps:
      one: {call: echo_echo, arguments: {text: "{{ inputs.word }}"}}
      two: {call: echo_echo, arguments: {text: "{{ steps.one }}"}}
"""


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "view",
    [
        "{principals: [analyst], deny_tools: [shout_*]}",
        "{principals: [analyst], tools: ['echo_*']}",
        "{principals: [analyst], require_scopes: {shout_twice: [admin]}}",
    ],
    ids=["denied", "not included", "scope missing"],
)
async def test_a_workflow_outside_the_view_is_unknown(tmp_path: Path, view: str) -> None:
    audit = tmp_path / "audit.jsonl"
    gateway = make_gateway(
        KEYS + f"audit: {{sink: '{audit}'}}\nviews:\n  analysts: {view}\n" + BACKENDS + WORKFLOW
    )
    async with http_front(gateway) as front:
        async with front.client(auth=OPS) as ops:
            assert "shout_twice" in {t.name for t in await ops.list_tools()}
            ran = await ops.call_tool("shout_twice", {"word": "hi"})
        async with front.client(auth=ANALYST) as analyst:
            listed = {t.name for t in await analyst.list_tools()}
            hidden = await analyst.call_tool("shout_twice", {"word": "hi"}, raise_on_error=False)
            missing = await analyst.call_tool("shout_thrice", {"word": "hi"}, raise_on_error=False)
    assert not ran.is_error
    assert "shout_twice" not in listed
    assert hidden.is_error and missing.is_error
    assert hidden.content[0].text.replace("twice", "thrice") == missing.content[0].text  # type: ignore[union-attr]
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {"principal": "analyst", "tool": "shout_twice", "outcome": "denied"}.items() <= next(
        r for r in records if r["tool"] == "shout_twice" and r["principal"] == "analyst"
    ).items()
