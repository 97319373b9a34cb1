"""No path around a policy: reads, prompts and completions are limited and audited like calls,
and a listen stream sees only what its caller's view holds (in process, both eras)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp.client.subscriptions import listen
from mcp.shared.exceptions import MCPError

from tests.conftest import connected, make_gateway
from tests.gateway.authed import http_front

KEY = "ops-key-0123456789abcdef"
ANALYST = "analyst-key-0123456789ab"


def records(audit: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


@pytest.mark.asyncio
async def test_reads_prompts_and_completions_leave_audit_records(tmp_path: Path, era: str) -> None:
    audit = tmp_path / "audit.jsonl"
    gateway = make_gateway(
        f"audit: {{sink: '{audit}'}}\nbackends:\n  echo: {{module: tests.fakes.echo}}\n"
        "  rich: {module: tests.fakes.rich, namespace: r}\n"
    )
    async with connected(gateway, mode=era) as client:
        await client.read_resource("echo://echo/greeting")
        await client.get_prompt("echo_shout", {"word": "x"})
        await client.complete(
            mcp_types.PromptReference(type="ref/prompt", name="r_review"), {"name": "topic", "value": "g"}
        )
        with pytest.raises(MCPError):
            await client.get_prompt("echo_nothing", {})
        with pytest.raises(MCPError):
            await client.read_resource("echo://echo/nothing")
    seen = [(r["method"], r["tool"], r["outcome"]) for r in records(audit)]
    assert ("resources/read", "echo://echo/greeting", "ok") in seen
    assert ("prompts/get", "echo_shout", "ok") in seen
    assert any(m == "completion/complete" and o == "ok" for m, _, o in seen)
    assert ("prompts/get", "echo_nothing", "denied") in seen
    assert ("resources/read", "echo://echo/nothing", "denied") in seen


@pytest.mark.asyncio
async def test_reads_through_a_template_share_one_bucket_whatever_the_spelling(era: str) -> None:
    """`items/3`, `items/03` and `items/003` are one resource to the backend: one limit."""
    gateway = make_gateway(
        "rate_limits:\n  tools:\n    'echo://echo/items/{item_id}': {rate: 2, per: 1m, burst: 2}\n"
        "backends:\n  echo: {module: tests.fakes.echo}\n"
    )
    async with connected(gateway, mode=era) as client:
        await client.read_resource("echo://echo/items/3")
        await client.read_resource("echo://echo/items/03")
        with pytest.raises(MCPError, match="rate limit exceeded"):
            await client.read_resource("echo://echo/items/003")


@pytest.mark.asyncio
async def test_completions_are_rate_limited_and_their_meta_is_measured(era: str) -> None:
    gateway = make_gateway(
        "rate_limits:\n  per_principal: {rate: 1, per: 1m, burst: 1}\n"
        "backends:\n  rich: {module: tests.fakes.rich, namespace: r}\n"
    )
    ref = mcp_types.PromptReference(type="ref/prompt", name="r_review")
    async with connected(gateway, mode=era) as client:
        big = mcp_types.CompleteRequest(
            params=mcp_types.CompleteRequestParams.model_validate(
                {"ref": ref, "argument": {"name": "topic", "value": "g"}, "_meta": {"x": "y" * 900_000}}
            )
        )
        with pytest.raises(MCPError, match="_meta is"):
            await client.session.send_request(big, mcp_types.CompleteResult)
        await client.complete(ref, {"name": "topic", "value": "g"})
        with pytest.raises(MCPError, match="rate limit exceeded"):
            await client.complete(ref, {"name": "topic", "value": "g"})


@pytest.mark.asyncio
async def test_a_listen_stream_cannot_hold_or_probe_what_the_view_hides() -> None:
    """A hidden resource and a missing one are refused alike, and no subscription is made."""
    gateway = make_gateway(
        f"""
auth:
  api_keys:
    analyst: {{key: "{ANALYST}"}}
views:
  analysts: {{principals: [analyst], namespaces: [echo]}}
backends:
  echo: {{module: tests.fakes.echo}}
  st: {{module: tests.fakes.stateful, session: pooled}}
"""
    )
    async with http_front(gateway) as front, front.client(auth=ANALYST, mode="2026-07-28") as client:
        answers = []
        for uri in ("state://st/counter", "state://st/nothing"):
            with pytest.raises(MCPError) as refused:
                async with listen(client.session, resource_subscriptions=[uri]):
                    pass
            answers.append((refused.value.error.code, refused.value.error.message.replace(uri, "<uri>")))
    assert answers[0] == answers[1]
    assert gateway.subscriptions.subscribers("state://st/counter") == set()
