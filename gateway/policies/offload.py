"""Oversized tool results as resource links (`limits.oversized_response: resource_link`).

A `tools/call` answer above `max_response_bytes` is kept in the result store (see
`gateway.policies.result_store`) and the caller gets, instead of a cut answer:

    content: [{type: text, text: <what happened, then the first few hundred bytes>},
              {type: resource_link, uri: gateway://results/<id>, name, mimeType, size}]

`resources/read` of that URI (by the same principal, within the store's `ttl`) returns every
part of the original answer in order, each tagged `_meta["gateway/part"]`: `content/<i>` per
content block (text as `text/plain`, image and audio as blobs of their type, an embedded
resource as itself, anything else as its JSON), then `structuredContent` (`application/json`).

Output schemas: a successful result of a tool that declares an `outputSchema` must carry
conforming `structuredContent`, and the official SDK clients refuse one that does not. The link
answer keeps the original `structuredContent` when that still fits the limit; when it does not,
no conforming answer exists, so the link answer is marked `isError` (its text says that the call
succeeded and where the result is), which validating clients pass on instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.config.security import Limits
from gateway.errors import RequestRejected
from gateway.policies.result_store import ResultStore, new_id
from gateway.policies.size import wire_size
from gateway.principal import Principal

RESULTS_PREFIX = "gateway://results/"
RESULTS_TEMPLATE: dict[str, Any] = {
    "uriTemplate": RESULTS_PREFIX + "{id}",
    "name": "gateway_results",
    "title": "Kept tool results",
    "description": (
        "Tool results too large to return inline, kept for a while for the caller that made the "
        "call; tool answers link to them."
    ),
}
PART_KEY = "gateway/part"
PREVIEW_BYTES = 400
KEEP_META_BYTES = 1024


def offload(
    result: dict[str, Any],
    limits: Limits,
    store: ResultStore,
    *,
    principal: Principal,
    tool: str,
    output_schema: bool,
) -> dict[str, Any]:
    """`result` itself, or, when it is over the limit in `resource_link` mode, a link to it."""
    if limits.oversized_response != "resource_link":
        return result
    size = wire_size(result)
    if size <= limits.max_response_bytes:
        return result
    item_id = new_id()
    uri = RESULTS_PREFIX + item_id
    contents = _contents(result, uri)
    if not store.put(item_id, principal, contents, wire_size(contents)):
        raise RequestRejected(
            f"the result of {tool!r} is {size} bytes, more than the result store keeps "
            f"({store.config.max_bytes})",
            reason="response_too_large",
        )
    return _link_answer(result, contents, uri, size=size, limits=limits, tool=tool, schema=output_schema)


def read_kept(store: ResultStore, principal: Principal, uri: str) -> dict[str, Any] | None:
    """The `resources/read` answer for a kept result (None: no such result for `principal`)."""
    if not uri.startswith(RESULTS_PREFIX):
        return None
    kept = store.get(uri.removeprefix(RESULTS_PREFIX), principal)
    if kept is None:
        return None
    return {"contents": [dict(part) for part in kept.contents]}


def is_kept_uri(uri: str) -> bool:
    """Whether `uri` names a kept result (served by the gateway itself)."""
    return uri.startswith(RESULTS_PREFIX)


def _contents(result: Mapping[str, Any], uri: str) -> list[Mapping[str, Any]]:
    parts: list[Mapping[str, Any]] = []
    blocks = result.get("content")
    for i, block in enumerate(blocks if isinstance(blocks, list) else []):
        part = _part(block, uri)
        meta = part.get("_meta")
        parts.append(
            {**part, "_meta": {**(meta if isinstance(meta, Mapping) else {}), PART_KEY: f"content/{i}"}}
        )
    structured = result.get("structuredContent")
    if structured is not None:
        text = json.dumps(structured, ensure_ascii=False)
        parts.append(
            {
                "uri": uri,
                "mimeType": "application/json",
                "text": text,
                "_meta": {PART_KEY: "structuredContent"},
            }
        )
    return parts


def _part(block: Any, uri: str) -> Mapping[str, Any]:
    kind = block.get("type") if isinstance(block, Mapping) else None
    if kind == "text" and isinstance(block.get("text"), str):
        return {"uri": uri, "mimeType": "text/plain", "text": block["text"]}
    if kind in ("image", "audio") and isinstance(block.get("data"), str):
        return {
            "uri": uri,
            "mimeType": block.get("mimeType", "application/octet-stream"),
            "blob": block["data"],
        }
    if kind == "resource" and isinstance(block.get("resource"), Mapping):
        return dict(block["resource"])
    return {"uri": uri, "mimeType": "application/json", "text": json.dumps(block, ensure_ascii=False)}


def _link_answer(
    result: Mapping[str, Any],
    contents: list[Mapping[str, Any]],
    uri: str,
    *,
    size: int,
    limits: Limits,
    tool: str,
    schema: bool,
) -> dict[str, Any]:
    limit = limits.max_response_bytes
    structured = result.get("structuredContent")
    failed = bool(result.get("isError"))
    ttl = _duration(limits.result_store.ttl)
    link = {
        "type": "resource_link",
        "uri": uri,
        "name": f"{tool} result",
        "description": f"The full result of {tool} ({size} bytes), kept for {ttl}.",
        "mimeType": "application/json" if structured is not None else _link_type(contents),
        "size": sum(_raw_size(part) for part in contents),
    }
    notice = (
        f"[gateway: the result was {size} bytes, over the limit of {limit}; read it in full from {uri} "
        f"(resources/read, for {ttl}). It begins:]"
    )
    answer: dict[str, Any] = {"content": [{"type": "text", "text": notice}, link]}
    if schema and not failed:
        kept = {**answer, "structuredContent": structured}
        if structured is not None and wire_size(kept) <= limit:
            answer = kept
        else:  # no answer without the data conforms to the tool's output schema: say so instead
            failed = True
            notice = notice.replace("[gateway: ", "[gateway: the call succeeded, but ", 1)
    if failed:
        answer["isError"] = True
    meta = result.get("_meta")
    if isinstance(meta, Mapping) and wire_size(meta) <= KEEP_META_BYTES:
        answer["_meta"] = dict(meta)
    answer["content"][0] = {"type": "text", "text": notice}
    room = min(PREVIEW_BYTES, (limit - wire_size(answer)) // 2)  # escaping may double a preview
    answer["content"][0] = {"type": "text", "text": notice + "\n" + _preview(result, max(0, room))}
    if wire_size(answer) > limit:
        answer["content"][0] = {"type": "text", "text": notice}
    return answer


def _preview(result: Mapping[str, Any], room: int) -> str:
    blocks = result.get("content")
    texts = [
        str(b["text"]) for b in blocks or () if isinstance(b, Mapping) and isinstance(b.get("text"), str)
    ]
    if texts:
        text = texts[0]
    elif result.get("structuredContent") is not None:
        text = json.dumps(result["structuredContent"], ensure_ascii=False)
    else:
        return ""
    raw = text.encode()
    return text if len(raw) <= room else raw[:room].decode(errors="ignore") + "…"


def _link_type(contents: list[Mapping[str, Any]]) -> str:
    """The parts' one media type, or `multipart/mixed` when they differ."""
    types = {str(part.get("mimeType", "application/octet-stream")) for part in contents}
    return types.pop() if len(types) == 1 else "multipart/mixed" if types else "text/plain"


def _raw_size(part: Mapping[str, Any]) -> int:
    """Bytes of one part's content: its text in UTF-8, or its decoded blob."""
    text = part.get("text")
    if isinstance(text, str):
        return len(text.encode())
    blob = part.get("blob")
    if isinstance(blob, str):
        return len(blob) * 3 // 4 - blob[-2:].count("=")
    return 0


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
