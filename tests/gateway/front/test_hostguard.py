"""The remembering Host/Origin guard gives FastMCP's own guard's verdict, every time."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp.server.http import HostOriginGuardMiddleware

from gateway.front.hostguard import HostOriginGuard

HOSTS = ["127.0.0.1:8000", "localhost:8000", "gateway.example.com", "*.internal.example"]
ORIGINS = ["https://console.example.com"]
CASES = [
    ("127.0.0.1:8000", None),
    ("localhost:8000", "http://localhost:8000"),
    ("gateway.example.com", "https://console.example.com"),
    ("a.internal.example", None),
    ("evil.example", None),
    ("127.0.0.1:8000", "http://evil.example"),
    ("gateway.example.com", "https://evil.example"),
    ("127.0.0.1:8000", "http://127.0.0.1:8000"),
]


async def verdicts(guard_class: type, cases: list[tuple[str, str | None]]) -> list[int]:
    statuses: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    if guard_class is HostOriginGuard:
        guard = HostOriginGuard(app, allowed_hosts=HOSTS, allowed_origins=ORIGINS)
    else:
        guard = HostOriginGuardMiddleware(app, allowed_hosts=HOSTS, allowed_origins=ORIGINS, mode="strict")
    for host, origin in cases:
        headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/mcp",
            "scheme": "http",
            "headers": headers,
            "server": ("127.0.0.1", 8000),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await guard(scope, receive, send)
    return statuses


@pytest.mark.asyncio
async def test_every_verdict_is_fastmcps_the_first_time_and_when_remembered() -> None:
    twice = CASES + CASES[::-1] + CASES
    expected = await verdicts(HostOriginGuardMiddleware, twice)
    assert await verdicts(HostOriginGuard, twice) == expected
    assert 200 in expected and 421 in expected and 403 in expected
