"""What the SDK's server refuses, the fast path leaves to it (`gateway.relay.admission`): for
each malformed request (its envelope, its ids, its `Accept` and `Content-Type`, its protocol
version, its session) the answer is the full relay's, byte for byte, and no backend sees more
of it than on the full relay; the well-formed ones around them still take the fast path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.relay.admission import transport_takes
from tests.conftest import make_gateway
from tests.gateway.relay.test_fast_path import (
    CONFIG,
    HEADERS,
    KEY,
    MODERN,
    fast_served,
    handshake_session,
    legacy_call,
    list_counted,
    modern_call,
    modern_headers,
    raw_front,
)

pytestmark = pytest.mark.usefixtures("untraced")
Variant = tuple[str, dict[str, Any], dict[str, str | list[str] | None]]


def variants(era: str) -> list[Variant]:
    """(what, body, header changes: None drops the header, a list repeats it) of `echo_echo`
    calls and a list."""
    legacy = era == "legacy"
    call = (
        legacy_call(9, "echo_echo", {"text": "v"}, {})
        if legacy
        else modern_call(9, "echo_echo", {"text": "v"})
    )
    listing: dict[str, Any] = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}
    if not legacy:
        listing["params"] = {"_meta": call["params"]["_meta"]}
    as_list: dict[str, str | list[str] | None] = (
        {} if legacy else {"mcp-method": "tools/list", "mcp-name": None}
    )
    found: list[Variant] = [
        ("a call", call, {}),
        ("a list", listing, as_list),
        ("the list again", listing, as_list),
        ("a string id", {**call, "id": "abc"}, {}),
        ("a null id", {**call, "id": None}, {}),
        ("a fractional id", {**call, "id": 1.5}, {}),
        ("a boolean id", {**call, "id": True}, {}),
        ("an object id", {**call, "id": {"a": 1}}, {}),
        ("no jsonrpc", {k: v for k, v in call.items() if k != "jsonrpc"}, {}),
        ("jsonrpc 1.0", {**call, "jsonrpc": "1.0"}, {}),
        ("a list with jsonrpc 1.0", {**listing, "jsonrpc": "1.0"}, as_list),
        ("accepting JSON alone", call, {"accept": "application/json"}),
        ("accepting streams alone", call, {"accept": "text/event-stream"}),
        ("a list accepting JSON alone", listing, {**as_list, "accept": "application/json"}),
        ("accepting nothing said", call, {"accept": None}),
        ("accepting twice", call, {"accept": ["application/json", "application/json, text/event-stream"]}),
        ("accepting wildcards", call, {"accept": "application/*, text/*"}),
        ("accepting with weights", call, {"accept": "application/json;q=0.9, text/event-stream;q=0.1"}),
        ("plain text", call, {"content-type": "text/plain"}),
        ("no content type", call, {"content-type": None}),
        ("JSON in capitals", call, {"content-type": "APPLICATION/JSON"}),
        ("JSON with a charset", call, {"content-type": "application/json; charset=utf-8"}),
        ("JSON among types", call, {"content-type": "application/json, text/plain"}),
        ("a JSON-like type", call, {"content-type": "application/jsonx"}),
        ("arguments a list", {**call, "params": {**call["params"], "arguments": [1]}}, {}),
        ("_meta a list", {**call, "params": {**call["params"], "_meta": [1]}}, {}),
    ]
    if legacy:
        found += [
            ("an older version", call, {"mcp-protocol-version": "2025-06-18"}),
            ("an unknown version", call, {"mcp-protocol-version": "1999-01-01"}),
            ("no version", call, {"mcp-protocol-version": None}),
            ("an unknown session", call, {"mcp-session-id": "nope"}),
        ]
    else:
        found += [
            ("a wrong Mcp-Name", call, {"mcp-name": "echo_other"}),
            ("a wrong Mcp-Method", call, {"mcp-method": "tools/list"}),
            ("a handshake-era version", call, {"mcp-protocol-version": "2025-11-25"}),
        ]
    return found


async def answers(fast: bool, era: str) -> tuple[list[tuple[str, int, dict[str, str], bytes, int]], float]:
    """Each variant's status, headers, body and the requests the backend was sent for it; and
    how many requests the fast path answered."""
    gateway = make_gateway(CONFIG + ("" if fast else "http: {fast_path: false}\n"))
    backend = gateway.directory.backends
    seen = []
    async with raw_front(gateway) as client:
        auth = {"authorization": f"Bearer {KEY}"}
        if era == "legacy":
            base = await handshake_session(client, auth, legacy_call(1, "echo_echo", {"text": "learn"}, {}))
        else:
            base = modern_headers("echo_echo", KEY)
        for what, body, changes in variants(era):
            headers = [
                (name, value)
                for name, given in {**base, **changes}.items()
                for value in ([given] if isinstance(given, str) else given or [])
            ]
            before = backend["echo"].stats["requests"]
            response = await client.post("/mcp", content=json.dumps(body), headers=headers)
            kept = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "mcp-session-id")}
            sent = backend["echo"].stats["requests"] - before
            seen.append((what, response.status_code, kept, response.content, sent))
    return seen, fast_served(gateway) + list_counted(gateway)


@pytest.mark.asyncio
@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_what_the_sdk_refuses_is_refused_as_the_sdk_refuses_it(era: str) -> None:
    (full, _), (fast, served) = await answers(False, era), await answers(True, era)
    for slow_answer, fast_answer in zip(full, fast, strict=True):
        assert fast_answer == slow_answer, slow_answer[0]
    status = {what: code for what, code, _, _, _ in full}
    assert {status["accepting JSON alone"], status["plain text"]} <= {400, 406, 415}, "the SDK refuses these"
    assert status["a null id"] == (202 if era == "legacy" else 400), "a notification to the handshake era"
    assert served >= 4, "the well-formed calls and the list again took the fast path"


def test_the_handshake_era_reads_a_request_with_an_unreadable_id_as_a_notification() -> None:
    """As the SDK's message adapter does (its transport answers 202 and runs nothing); and a
    client's answer or cancellation must be well-formed JSON-RPC to be taken."""
    headers = {**HEADERS, "mcp-protocol-version": "2025-11-25"}
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}
    answer = {"jsonrpc": "2.0", "id": "fast-1", "result": {}}
    assert transport_takes(headers, cancel) and transport_takes(headers, answer)
    assert not transport_takes(headers, {**cancel, "jsonrpc": "1.0"})
    assert not transport_takes(headers, {**answer, "result": 5})
    assert not transport_takes(headers, {"jsonrpc": "2.0", "id": None, "method": "tools/call", "params": {}})
