"""`resources/read` and `prompts/get` on the fast path: a resource (by its URI or through a
template) and a prompt in the caller's view are read from the backend directly, with exactly
the full relay's answer (cache hints, the era's shape, errors); what the relay must answer
itself (unknown or hidden names, a result the gateway kept, params the SDK refuses) still goes
to it, and is answered as it answers it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import make_gateway
from tests.gateway.relay.test_fast_path import (
    ANALYST,
    CONFIG,
    HEADERS,
    KEY,
    MODERN,
    handshake_session,
    modern_call,
    raw_front,
)

pytestmark = pytest.mark.usefixtures("untraced")
READ, GET = "resources/read", "prompts/get"
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("ops", READ, {"uri": "echo://echo/greeting"}),
    ("ops", READ, {"uri": "echo://echo/items/7"}),
    ("ops", READ, {"uri": "echo://echo/greeting", "_meta": {"progressToken": "r-1"}}),
    ("ops", READ, {"uri": "echo://old/greeting"}),
    ("ops", READ, {"uri": "echo://echo/nothing"}),
    ("ops", READ, {"uri": "gateway+result://nothing-kept"}),
    ("ops", READ, {"uri": 5}),
    ("ops", GET, {"name": "echo_shout", "arguments": {"word": "hi"}}),
    ("ops", GET, {"name": "echo_shout"}),  # the backend finds the argument missing
    ("ops", GET, {"name": "echo_shout", "arguments": {"word": 5}}),  # the SDK refuses it
    ("ops", GET, {"name": "echo_nothing"}),
    ("analyst", GET, {"name": "old_shout", "arguments": {"word": "hi"}}),  # outside the view
    ("analyst", READ, {"uri": "echo://old/greeting"}),
    ("analyst", READ, {"uri": "echo://echo/greeting"}),
]
"""(who, method, params): found, through a template, with progress, of a handshake-era backend; unknown;
kept; malformed; a prompt with and without its argument, with a wrong one, unknown; and the
analyst's view, which holds the echo backend only."""


async def answers(fast: bool, era: str) -> tuple[list[tuple[int, dict[str, str], bytes]], dict[str, float]]:
    """Each request's status, headers and body, and how many of each method the fast path served."""
    gateway = make_gateway(CONFIG + ("" if fast else "http: {fast_path: false}\n"))
    seen = []
    async with raw_front(gateway) as client:
        headers: dict[str, dict[str, str]] = {}
        for who, key in (("ops", KEY), ("analyst", ANALYST)):
            auth = {"authorization": f"Bearer {key}"}
            if era == "legacy":
                listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                headers[who] = await handshake_session(client, auth, listing)
            else:
                headers[who] = {**HEADERS, **auth}
        for number, (who, method, params) in enumerate(REQUESTS, start=2):
            sent = dict(headers[who])
            body: dict[str, Any] = {"jsonrpc": "2.0", "id": number, "method": method, "params": dict(params)}
            if era != "legacy":
                body["params"]["_meta"] = {
                    **modern_call(0, "x")["params"]["_meta"],
                    **params.get("_meta", {}),
                }
                sent.update({"mcp-protocol-version": MODERN, "mcp-method": method})
                if method == GET and isinstance(params.get("name"), str):
                    sent["mcp-name"] = params["name"]
                if method == READ and isinstance(params.get("uri"), str):
                    sent["mcp-name"] = params["uri"]
            response = await client.post("/mcp", content=json.dumps(body), headers=sent)
            kept = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "mcp-session-id")}
            seen.append((response.status_code, kept, response.content))
    served = {m: gateway.metrics.fast_path.labels(m)._value.get() for m in (READ, GET)}
    return seen, served


@pytest.mark.asyncio
@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_reads_and_prompts_answer_exactly_as_the_full_relay(era: str) -> None:
    (full, _), (fast, served) = await answers(False, era), await answers(True, era)
    for request, slow_answer, fast_answer in zip(REQUESTS, full, fast, strict=True):
        assert fast_answer == slow_answer, request
    # found resources and prompts in the view take it (for a 2026 client, not those of the
    # handshake-era backend, whose answers are translated by the full relay)
    assert served == {READ: 5 if era == "legacy" else 4, GET: 2}
    greeting = json.loads(full[0][2])["result"]
    assert greeting["contents"][0]["text"] == "hello"
    assert ("ttlMs" in greeting) == (era == MODERN), "the SDK's cache hint, in the era that has it"
