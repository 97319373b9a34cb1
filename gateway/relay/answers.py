"""What the relay answers with, and what it sends on: request params toward a backend, the
marks a final result carries on a 2026-07-28 connection, and the answer for a name the caller
cannot see.

Toward a backend only names change: the backend's own name or URI, and the client's `_meta`
minus what belongs to the client's connection (protocol version, client info, capabilities)
and its progress token (the gateway tracks progress per hop).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types
from mcp.server.context import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

CONNECTION_META_KEYS = frozenset(
    {
        mcp_types.PROTOCOL_VERSION_META_KEY,
        mcp_types.CLIENT_INFO_META_KEY,
        mcp_types.CLIENT_CAPABILITIES_META_KEY,
        "progressToken",
    }
)


def forward_params(params: Mapping[str, Any] | None, replace: Mapping[str, Any]) -> dict[str, Any]:
    """The client's params with the backend's names, and `_meta` minus what belongs to the hop."""
    raw = dict(params or {})
    raw.update(replace)
    meta = raw.pop("_meta", None)
    if isinstance(meta, Mapping):
        kept = {k: v for k, v in meta.items() if k not in CONNECTION_META_KEYS}
        if kept:
            raw["_meta"] = kept
    return raw


def complete(ctx: ServerRequestContext[Any, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Mark a final result as such on a 2026-07-28 connection (older backends do not)."""
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
        result["resultType"] = "complete"
    return result


def unknown_tool(name: str) -> dict[str, Any]:
    """The answer for a tool the caller cannot see: the same whether it exists or not."""
    return {"content": [{"type": "text", "text": f"Unknown tool: {name!r}"}], "isError": True}
