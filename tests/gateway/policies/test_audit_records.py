"""The audit trail (RELIABILITY.md §5 item 33): every `tools/call` through the HTTP front leaves
exactly one record, whatever its outcome, with time, principal, backend, tool, a digest of the
arguments (never the arguments), outcome, latency and attempts; no bearer token, API key or JWT,
ever appears in it. In process, both eras.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair
from mcp.shared.exceptions import MCPError

from gateway.policies.audit import args_digest
from tests.conftest import make_gateway
from tests.gateway.authed import http_front

PAIR = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway"
KEY = "ops-key-0123456789abcdef"
TOKEN = PAIR.create_token(subject="alice", issuer=ISSUER, audience=AUDIENCE)
SECRET_TEXT = "an argument value that must stay out of the trail"


def config(audit: Path) -> str:
    return f"""
auth:
  api_keys:
    ops: {{key: "{KEY}"}}
  jwt: {{issuer: "{ISSUER}", audience: {AUDIENCE}, public_key: "${{JWT_PUBLIC_KEY}}"}}
audit: {{sink: "{audit}"}}
rate_limits:
  tools: {{"echo_slow_count": {{rate: 1, per: 1h, burst: 1}}}}
backends:
  echo: {{module: tests.fakes.echo}}
  rich: {{module: tests.fakes.rich, namespace: r}}
"""


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("echo_echo", {"text": SECRET_TEXT}),
    ("r_fail", {"reason": SECRET_TEXT}),
    ("echo_slow_count", {"n": 1}),
    ("echo_slow_count", {"n": 1}),
    ("no_such_tool", {"text": SECRET_TEXT}),
]
EXPECTED = [
    ("echo_echo", "echo", "ok", 1),
    ("r_fail", "rich", "tool_error", 1),
    ("echo_slow_count", "echo", "ok", 1),
    ("echo_slow_count", "echo", "rate_limited", 0),
    ("no_such_tool", None, "denied", 0),
]
"""(tool, backend, outcome, attempts) of each call above, in order."""


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("credential", "principal", "kind"),
    [(KEY, "ops", "api_key"), (TOKEN, "jwt:alice", "jwt")],
    ids=["key", "jwt"],
)
async def test_each_call_leaves_one_complete_record_and_no_secret(
    tmp_path: Path, era: str, credential: str, principal: str, kind: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    gateway = make_gateway(config(audit), environ={"JWT_PUBLIC_KEY": PAIR.public_key})
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)  # records carry milliseconds
    async with http_front(gateway) as front, front.client(auth=credential, mode=era) as client:
        for name, arguments in CALLS:
            with contextlib.suppress(MCPError):  # the rate-limited call: an error, audited all the same
                await client.call_tool_mcp(name, arguments)
    finished = dt.datetime.now(dt.UTC)
    text = audit.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["tool"], r["backend"], r["outcome"], r["attempts"]) for r in records] == EXPECTED
    for record, (_, arguments) in zip(records, CALLS, strict=True):
        assert record["principal"] == principal and record["kind"] == kind
        assert record["method"] == "tools/call"
        assert started <= dt.datetime.fromisoformat(record["time"]) <= finished
        assert record["time"].endswith("+00:00")
        assert record["args_sha256"] == args_digest(arguments)
        assert isinstance(record["latency_ms"], int | float) and record["latency_ms"] >= 0
    assert KEY not in text and TOKEN not in text and TOKEN.split(".")[2] not in text
    assert SECRET_TEXT not in text
