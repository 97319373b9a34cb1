"""A result as the relay and the SDK's server put it on the wire: `shaped`.

The relay marks a final 2026-07-28 result `complete`; the SDK's server then adds its cache hint
to a cacheable method's result (`ttlMs`, `cacheScope`), validates the result against the
protocol version's model and dumps that (`mcp_types.methods.serialize_server_result`: fields
the version does not know are dropped, the rest come out in the model's order, `None` fields
left out; a result it cannot validate is an internal error), and stamps its identity on a
2026-07-28 result's `_meta`. `shaped` does the same, step for step. Pydantic's part takes a few
tens of microseconds, about 5% of the fast path's CPU per call: for the `tools/call` result
nearly every tool returns (text content, perhaps `isError`, structured content, `_meta`) the
dump is a reordering of known keys over plain JSON values, done here directly; any other result
(images, resources, annotations, a value JSON has no word for, a large structured result) still
goes through pydantic. `tests/gateway/relay/test_shaping.py` holds `shaped` to the SDK's own
code, byte for byte.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import mcp_types
from mcp_types import methods as spec_methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from gateway.errors import InvalidResult

logger = logging.getLogger("gateway.relay")

PLAIN_NODES = 256
"""Values of structured content (or `_meta`) walked before leaving the result to pydantic."""
_SCALARS = (str, int, bool)
_HANDSHAKE_MODEL = spec_methods.SERVER_RESULTS[("tools/call", "2025-11-25")]
_MODERN_MODEL = spec_methods.SERVER_RESULTS[("tools/call", "2026-07-28")]
_HANDSHAKE_ORDER = ("_meta", "content", "isError", "structuredContent")
_MODERN_ORDER = ("_meta", "content", "isError", "resultType", "structuredContent")
_ORDERS = {
    version: _HANDSHAKE_ORDER if model is _HANDSHAKE_MODEL else _MODERN_ORDER
    for (method, version), model in spec_methods.SERVER_RESULTS.items()
    if method == "tools/call" and model in (_HANDSHAKE_MODEL, _MODERN_MODEL)
}
"""Each protocol version's model of a `tools/call` result, as the order of the fields it keeps."""
_KEYS = {order: frozenset(order) for order in (_HANDSHAKE_ORDER, _MODERN_ORDER)}


def shaped(
    method: str,
    result: dict[str, Any],
    version: str,
    *,
    server_info: Callable[[], dict[str, Any]],
    hints: Mapping[str, Any],
) -> dict[str, Any]:
    """The result as the relay and the SDK's server (its cache `hints`, its `server_info`) would
    put it on the wire for `version`; raises the SDK's internal error for an invalid result."""
    modern = version in MODERN_PROTOCOL_VERSIONS
    if modern and "resultType" not in result:
        result["resultType"] = "complete"
    hint = hints.get(method)
    if hint is not None and not spec_methods.is_input_required(result):
        result = {"ttlMs": hint.ttl_ms, "cacheScope": hint.scope, **result}
    kind = result.get("resultType")
    if not modern or not isinstance(kind, str) or kind in mcp_types.CORE_RESULT_TYPES:
        plain = _plain(result, version) if method == "tools/call" else None
        result = plain if plain is not None else _serialized(method, version, result)
    if modern and result.get("resultType") is None:
        result["resultType"] = "complete"
    if modern:
        meta = result.get("_meta")
        stamp = {mcp_types.SERVER_INFO_META_KEY: server_info()}
        if meta is None:
            result["_meta"] = stamp
        elif isinstance(meta, dict) and meta.get(mcp_types.SERVER_INFO_META_KEY) is None:
            result["_meta"] = {**meta, **stamp}
    return result


def _serialized(method: str, version: str, result: dict[str, Any]) -> dict[str, Any]:
    try:
        return spec_methods.serialize_server_result(method, version, result)
    except ValidationError:
        logger.exception("a backend's %s result is not valid for %s", method, version)
        raise InvalidResult() from None


def _plain(result: dict[str, Any], version: str) -> dict[str, Any] | None:
    """What pydantic would make of a plain result (in the model's field order), or None when
    the result is not plain."""
    order = _ORDERS.get(version)
    if order is None or not _KEYS[order].issuperset(result):
        return None
    handshake = order is _HANDSHAKE_ORDER
    if not handshake and result.get("resultType") != "complete":
        return None
    content = result.get("content")
    if type(content) is not list or not all(_text_item(item) for item in content):
        return None
    if type(result.get("isError")) not in (bool, type(None)):
        return None
    structured, meta = result.get("structuredContent"), result.get("_meta")
    if (handshake and type(structured) not in (dict, type(None))) or type(meta) not in (dict, type(None)):
        return None
    budget = [PLAIN_NODES]
    if not (_json_value(structured, budget) and _json_value(meta, budget)):
        return None
    if meta is not None and not handshake:
        meta = _modern_meta(meta)
    shaped: dict[str, Any] = {}
    for key in order:
        value = meta if key == "_meta" else result.get(key)
        if value is not None:
            shaped[key] = (
                [{"text": item["text"], "type": "text"} for item in value] if key == "content" else value
            )
    return shaped


def _modern_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """A 2026-07-28 result's `_meta` as its model dumps it: the server-info key (its one field)
    first, then the others in their order, top-level `None`s left out (values below them are
    kept as they are)."""
    info = meta.get(mcp_types.SERVER_INFO_META_KEY)
    dumped = {} if info is None else {mcp_types.SERVER_INFO_META_KEY: info}
    dumped.update((key, value) for key, value in meta.items() if value is not None)
    return dumped


def _text_item(item: Any) -> bool:
    return (
        type(item) is dict and len(item) == 2 and item.get("type") == "text" and type(item.get("text")) is str
    )


def _json_value(value: Any, budget: list[int]) -> bool:
    """Whether `value` is made of JSON's own types alone (which pydantic dumps unchanged)."""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    kind = type(value)
    if kind in _SCALARS or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and _json_value(v, budget) for k, v in value.items())
    if kind is list:
        return all(_json_value(v, budget) for v in value)
    return False
