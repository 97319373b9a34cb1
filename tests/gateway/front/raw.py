"""Raw requests at the HTTP front, for tests that look at the wire itself: the headers an MCP
client sends with a POST, and a handshake-era `initialize`."""

from __future__ import annotations

from typing import Any

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
"""What an MCP client sends with every POST."""
INIT: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
"""A handshake-era (2025-11-25) `initialize` request."""
