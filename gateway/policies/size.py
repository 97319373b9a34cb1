"""Size limits inside a request and on a backend's answer (for every front, stdio included).

A call's arguments and its `_meta` are measured before anything is sent to a backend. An answer
larger than `max_response_bytes` is never passed on silently: it is refused with an error that
says so, or (`oversized_response: truncate`) its text is cut and a marker says how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types
import orjson

from gateway.config.security import Limits
from gateway.errors import RequestRejected

ENVELOPE_KEYS = frozenset(
    {
        mcp_types.PROTOCOL_VERSION_META_KEY,
        mcp_types.CLIENT_INFO_META_KEY,
        mcp_types.CLIENT_CAPABILITIES_META_KEY,
        mcp_types.LOG_LEVEL_META_KEY,
    }
)
AUTOMATIC_KEYS = frozenset({"progressToken", "traceparent", "tracestate", "baggage"})
"""`_meta` keys client libraries set by themselves: not counted against `max_meta_keys`."""
MARKER = "[gateway: the answer was {size} bytes, over the limit of {limit}; the rest was cut]"


def wire_size(value: Any) -> int:
    """Bytes of `value` as compact JSON (how requests and answers are measured against limits)."""
    return len(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


def check_request(params: Mapping[str, Any] | None, limits: Limits) -> None:
    """Refuse oversized arguments or `_meta` before any work."""
    if not params:
        return
    arguments = params.get("arguments")
    if arguments is not None:
        size = wire_size(arguments)
        if size > limits.max_argument_bytes:
            raise RequestRejected(
                f"arguments are {size} bytes; the limit is {limits.max_argument_bytes}",
                reason="arguments_too_large",
            )
    meta = params.get("_meta")
    if isinstance(meta, Mapping):
        # The 2026-07-28 envelope (protocol version, client info and capabilities) is the
        # protocol's own, not the caller's: only what the caller added is limited.
        meta = {k: v for k, v in meta.items() if k not in ENVELOPE_KEYS}
        # Keys a client library adds on its own (a progress token, W3C trace context) are not
        # counted among the caller's keys; their size and depth still are.
        counted = sum(1 for key in meta if key not in AUTOMATIC_KEYS)
        if counted > limits.max_meta_keys:
            raise RequestRejected(
                f"_meta has {counted} keys; the limit is {limits.max_meta_keys}", reason="meta_too_large"
            )
        if json_depth(dict(meta)) > limits.max_meta_depth:
            raise RequestRejected(
                f"_meta nests deeper than {limits.max_meta_depth} levels", reason="meta_too_deep"
            )
        size = wire_size(meta)
        if size > limits.max_meta_bytes:
            raise RequestRejected(
                f"_meta is {size} bytes; the limit is {limits.max_meta_bytes}", reason="meta_too_large"
            )


def fit_response(method: str, result: dict[str, Any], limits: Limits, *, backend: str) -> dict[str, Any]:
    """The answer itself, or, when too large, a refusal or a cut answer with a marker."""
    size = wire_size(result)
    limit = limits.max_response_bytes
    if size <= limit:
        return result
    if limits.oversized_response == "reject" or method not in ("tools/call", "resources/read", "prompts/get"):
        raise RequestRejected(
            f"backend '{backend}' answered {size} bytes; the limit is {limit}", reason="response_too_large"
        )
    marker = MARKER.format(size=size, limit=limit)
    budget = max(0, limit - len(marker) - 512)
    if method == "tools/call":
        content = _cut_blocks(result.get("content", []), budget)
        content.append({"type": "text", "text": marker})
        cut = {k: v for k, v in result.items() if k not in ("content", "structuredContent")}
        cut["content"] = content
        return cut
    if method == "resources/read":
        return {**result, "contents": _cut_blocks(result.get("contents", []), budget, marker=marker)}
    messages = result.get("messages", [])
    kept: list[Any] = []
    for message in messages:
        if wire_size(kept) + wire_size(message) > budget:
            break
        kept.append(message)
    kept.append({"role": "user", "content": {"type": "text", "text": marker}})
    return {**result, "messages": kept}


def _cut_blocks(blocks: list[Any], budget: int, *, marker: str | None = None) -> list[Any]:
    """Keep blocks while they fit; cut the first text that does not; drop what follows."""
    kept: list[Any] = []
    used = 0
    for block in blocks:
        size = wire_size(block)
        if used + size <= budget:
            kept.append(block)
            used += size
            continue
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            room = max(0, budget - used - 256)
            text = block["text"].encode()[:room].decode(errors="ignore")
            kept.append({**block, "text": text + ("\n" + marker if marker else "")})
        break
    return kept


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (scalars are 0, `[]` is 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            depth += 1
            stack.extend((v, depth) for v in item.values())
        elif isinstance(item, list):
            depth += 1
            stack.extend((v, depth) for v in item)
        deepest = max(deepest, depth)
    return deepest
