"""The DNS-rebinding guard (Host and Origin), with its verdicts remembered.

FastMCP's `HostOriginGuardMiddleware` decides whether a request's Host and Origin name this
server; it works the answer out afresh for every request (parsing addresses and URLs, matching
every allowed pattern), which cost more than the rest of the front together. The answer depends
only on the Host and Origin headers, the scheme and the address the server listens on, so
`HostOriginGuard` asks FastMCP's guard once for each such combination and remembers the ones
it let through (at most `MAX_REMEMBERED`); a refusal is always FastMCP's own, worked out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_REMEMBERED = 1024
"""Distinct (Host, Origin, scheme, server address) combinations remembered as let through."""
_KEY = "gateway.host_guard_key"

Key = tuple[bytes | None, bytes | None, str, Any]


class HostOriginGuard(HostOriginGuardMiddleware):
    """FastMCP's Host/Origin guard (strict mode), each verdict that let a request through kept."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str], allowed_origins: Sequence[str]) -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins, mode="strict")
        self._inner = app
        self.app = self._passed_through
        self._passed: set[Key] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        key = _key(scope)
        if key in self._passed:
            await self._inner(scope, receive, send)
            return
        scope[_KEY] = key
        await super().__call__(scope, receive, send)

    async def _passed_through(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = scope.pop(_KEY, None)
        if key is not None:
            if len(self._passed) >= MAX_REMEMBERED:
                self._passed.clear()
            self._passed.add(key)
        await self._inner(scope, receive, send)


def _key(scope: Scope) -> Key:
    """What the guard's verdict depends on: the first Host and Origin header (as FastMCP reads
    them), the scheme, and the server's address."""
    host: bytes | None = None
    origin: bytes | None = None
    for name, value in scope.get("headers", ()):
        if host is None and name == b"host":
            host = value
        elif origin is None and name == b"origin":
            origin = value
    return host, origin, scope.get("scheme", "http"), scope.get("server")
