"""Shaping what crosses the gateway: request params toward a backend, results toward a client.

Only names change. Toward a backend: the backend's own name or URI, and the client's `_meta`
minus what belongs to the client's connection (protocol version, client info, capabilities)
and its progress token (the gateway tracks progress per hop). Toward a client: resource URIs
inside results get the namespace (so a client can read what a tool links to), the backend's
own `serverInfo` stamp is dropped, and on a 2026-07-28 connection a final result says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types
from mcp.server.context import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from gateway.naming import front_uri

CONNECTION_META_KEYS = frozenset(
    {
        mcp_types.PROTOCOL_VERSION_META_KEY,
        mcp_types.CLIENT_INFO_META_KEY,
        mcp_types.CLIENT_CAPABILITIES_META_KEY,
        "progressToken",
    }
)


def forward_params(ctx: ServerRequestContext[Any, Any], replace: Mapping[str, Any]) -> dict[str, Any]:
    """The client's params with the backend's names, and `_meta` minus what belongs to the hop."""
    raw = dict(ctx.params or {})
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


def strip_hop_meta(result: dict[str, Any]) -> dict[str, Any]:
    """Drop the backend's own connection stamps (its serverInfo) from a result's `_meta`."""
    meta = result.get("_meta")
    if isinstance(meta, dict) and mcp_types.SERVER_INFO_META_KEY in meta:
        kept = {k: v for k, v in meta.items() if k != mcp_types.SERVER_INFO_META_KEY}
        if kept:
            result["_meta"] = kept
        else:
            del result["_meta"]
    return result


def namespace_uris(result: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Give resource URIs inside a result the namespace, so clients can read them here."""
    if not namespace:
        return result
    if isinstance(result.get("contents"), list):
        result["contents"] = [_with_uri(c, namespace) for c in result["contents"]]
    if isinstance(result.get("content"), list):
        result["content"] = [_block(b, namespace) for b in result["content"]]
    if isinstance(result.get("messages"), list):
        result["messages"] = [
            {**m, "content": _block(m["content"], namespace)}
            if isinstance(m, dict) and isinstance(m.get("content"), dict)
            else m
            for m in result["messages"]
        ]
    return result


def _block(block: Any, namespace: str) -> Any:
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind == "resource_link":
        return _with_uri(block, namespace)
    if kind == "resource" and isinstance(block.get("resource"), dict):
        return {**block, "resource": _with_uri(block["resource"], namespace)}
    return block


def _with_uri(item: Any, namespace: str) -> Any:
    if isinstance(item, dict) and isinstance(item.get("uri"), str):
        return {**item, "uri": front_uri(namespace, item["uri"])}
    return item
