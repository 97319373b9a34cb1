"""The ids of the handshake-era sessions the front issues: 128 random bits each.

The MCP SDK names a session with `uuid4()` (streamable HTTP sends its hex, SSE the UUID), and a
version-4 UUID fixes 6 of its 128 bits: 122 are random. The spec asks for cryptographically
secure ids, and the gateway's checklist for at least 128 random bits (RELIABILITY.md item 28), so
the front has the SDK's two session managers draw a UUID of 128 bits from `secrets` instead. It
prints and parses as before (32 hex digits), and nothing else in those modules uses `uuid4`.
"""

from __future__ import annotations

import secrets
from uuid import UUID

from mcp.server import sse, streamable_http_manager


def random_uuid() -> UUID:
    """A UUID whose 128 bits are all random (no version or variant bits)."""
    return UUID(int=secrets.randbits(128))


def install() -> None:
    """Make the SDK's streamable HTTP and SSE transports name sessions with `random_uuid`."""
    streamable_http_manager.uuid4 = random_uuid  # type: ignore[attr-defined]
    sse.uuid4 = random_uuid  # type: ignore[attr-defined]
