"""A backend's own JSON-RPC errors reach the client as the backend said them, on both paths and
over every kind of link: whatever the code (-32000 and -32001 too, which the SDK's client also
uses for a closed connection and a timeout of its own), and in the 2026-07-28 era with the HTTP
status the SDK's server gives the code (400 for invalid params, 404 for an unknown method)."""

from __future__ import annotations

import pytest

from tests.conftest import PYTHON, make_gateway
from tests.gateway.relay.test_fast_path import (
    HEADERS,
    MODERN,
    fast_served,
    handshake_session,
    legacy_call,
    modern_call,
    raw_front,
)

pytestmark = pytest.mark.usefixtures("untraced")
CODES = [-32602, -32601, -32600, -32700, -32000, -32001, 7]
LINKS = {
    "in process": "{module: tests.fakes.refusing}",
    "stdio": f"{{command: [{PYTHON}, -m, tests.fakes.refusing]}}",
}
Seen = list[tuple[int, int, bytes]]


async def answers(fast: bool, era: str, link: str) -> tuple[Seen, float]:
    gateway = make_gateway(
        f"backends:\n  r: {LINKS[link]}\n" + ("" if fast else "http: {fast_path: false}\n")
    )
    seen: Seen = []
    async with raw_front(gateway) as client:
        if era == "legacy":
            headers = await handshake_session(client, {}, legacy_call(1, "r_refuse", {"code": 0}, {}))
        for code in CODES:
            if era == "legacy":
                body = legacy_call(2, "r_refuse", {"code": code}, {})
            else:
                body = modern_call(2, "r_refuse", {"code": code})
                headers = {
                    **HEADERS,
                    "mcp-protocol-version": MODERN,
                    "mcp-method": "tools/call",
                    "mcp-name": "r_refuse",
                }
            response = await client.post("/mcp", json=body, headers=headers)
            seen.append((code, response.status_code, response.content))
    return seen, fast_served(gateway)


@pytest.mark.asyncio
@pytest.mark.parametrize("link", list(LINKS))
@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_a_backends_errors_reach_the_client_as_it_said_them(era: str, link: str) -> None:
    (full, _), (fast, served) = await answers(False, era, link), await answers(True, era, link)
    assert fast == full
    assert served == len(CODES)
    for code, status, body in full:
        assert b'"error":{"code":%d,"message":"refused with %d"}' % (code, code) in body
        expected = {-32602: 400, -32601: 404, -32600: 400, -32700: 400} if era == MODERN else {}
        assert status == expected.get(code, 200), code
