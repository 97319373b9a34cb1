"""A backend's answer, rewritten for the client: only names change.

Resource URIs inside results get the namespace (so a client can read what a tool links to), and
the backend's own connection stamp (`serverInfo` in `_meta`) is dropped.
"""

from __future__ import annotations

from typing import Any

import mcp_types

from gateway.routing.naming import front_uri


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
