"""A handshake-era session on the fast path is open exactly while the SDK's server serves it, to
whom it serves it: a call after its client ended it (DELETE) is told it is not found, as the SDK's
server tells it (the relay forgets the session only later, as its connection closes), and a
call by another subject of the same principal is served as the SDK's server serves it."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair

from tests.conftest import make_gateway
from tests.gateway.relay.test_fast_path import fast_served, handshake_session, legacy_call, raw_front

pytestmark = pytest.mark.usefixtures("untraced")
PAIR = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway"
CONFIG = f"""
auth:
  jwt:
    issuer: {ISSUER}
    audience: {AUDIENCE}
    principal_claim: app
    public_key: |
{"".join("      " + line + chr(10) for line in PAIR.public_key.splitlines())}
backends:
  echo: {{module: tests.fakes.echo}}
"""
Seen = list[tuple[str, int, bytes]]


def bearer(subject: str) -> dict[str, str]:
    """A token of principal `app` (its `app` claim) for `subject`."""
    token = PAIR.create_token(
        subject=subject, issuer=ISSUER, audience=AUDIENCE, additional_claims={"app": "app"}
    )
    return {"authorization": f"Bearer {token}"}


async def opened(client: httpx2.AsyncClient, auth: dict[str, str]) -> dict[str, str]:
    """A new session's headers, one call made on it (the session learnt)."""
    return await handshake_session(client, auth, legacy_call(1, "echo_echo", {"text": "learn"}, {}))


async def calls(fast: bool) -> tuple[Seen, float]:
    gateway = make_gateway(CONFIG + ("" if fast else "http: {fast_path: false}\n"))
    seen: Seen = []

    async def call(what: str, headers: dict[str, str], number: int) -> None:
        response = await client.post(
            "/mcp", json=legacy_call(number, "echo_echo", {"text": what}, {}), headers=headers
        )
        seen.append((what, response.status_code, response.content))

    async with raw_front(gateway) as client:
        alice = await opened(client, bearer("alice"))
        await call("alice's call", alice, 2)
        await call("bob on alice's session", {**alice, **bearer("bob")}, 3)
        ended = await opened(client, bearer("alice"))
        seen.append(("ended", (await client.delete("/mcp", headers=ended)).status_code, b""))
        await call("a call on the ended session", ended, 4)
        await call("alice's call again", alice, 5)
    return seen, fast_served(gateway)


@pytest.mark.asyncio
async def test_a_session_is_open_to_its_own_user_until_it_ends_on_both_paths() -> None:
    (full, _), (fast, served) = await calls(False), await calls(True)
    for slow_answer, fast_answer in zip(full, fast, strict=True):
        assert fast_answer == slow_answer, slow_answer[0]
    status: dict[str, Any] = {what: code for what, code, _ in full}
    assert status["a call on the ended session"] == 404
    assert status["bob on alice's session"] == 200, "the same principal (its `app` claim) and issuer"
    assert served == 3, "the calls on the open session took the fast path"
