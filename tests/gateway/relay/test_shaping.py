"""A result shaped by the fast path comes out exactly as the full relay puts it on the wire.

The oracle is the relay's `complete` and then the SDK server's own result pipeline
(`ServerRunner._serialize`: its cache hint, its model's dump, its identity stamp). Thousands of
`tools/call` results, plain (shaped without pydantic) and not, and the results of reads and
prompts, each in every protocol version: the bytes on the wire (key order included) or the
error must be the same.
"""

from __future__ import annotations

import copy
import random
from types import SimpleNamespace
from typing import Any

import mcp_types
import orjson
import pytest
from mcp.server.caching import CacheHint
from mcp.server.runner import ServerRunner
from mcp.shared.exceptions import MCPError
from mcp_types import methods as spec_methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from gateway.errors import GatewayError, to_mcp_error
from gateway.relay import shaping

VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
INFO = {"name": "gateway", "version": "1"}
HINTS = {"resources/read": CacheHint(ttl_ms=0, scope="private")}


class _Runner:
    """The SDK server's own result pipeline (`ServerRunner._serialize`) with a server of ours."""

    _serialize = ServerRunner._serialize
    _stamp_server_info = ServerRunner._stamp_server_info

    def __init__(self, hints: dict[str, CacheHint]) -> None:
        self.server = SimpleNamespace(cache_hints=hints, server_info_stamp=INFO)


def oracle(result: dict[str, Any], version: str, method: str = "tools/call") -> dict[str, Any]:
    """The result as the relay (its `complete`) and the SDK's server put it on the wire."""
    if version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
        result["resultType"] = "complete"
    return _Runner(HINTS)._serialize(method, version, result)


def ours(result: dict[str, Any], version: str, method: str = "tools/call") -> dict[str, Any]:
    return shaping.shaped(method, result, version, server_info=lambda: INFO, hints=HINTS)


def outcome(shape: Any, result: dict[str, Any], version: str) -> tuple[str, bytes, str]:
    """The wire bytes and the values themselves (orjson writes NaN as null: the dicts must agree
    too), or the JSON-RPC error the failure is answered with."""
    try:
        shaped = shape(copy.deepcopy(result), version)
        return "ok", orjson.dumps(shaped), repr(shaped)
    except GatewayError as error:
        return "error", to_mcp_error(error).error.model_dump_json().encode(), ""
    except MCPError as error:
        return "error", error.error.model_dump_json().encode(), ""
    except Exception as error:  # the same kind of failure on both sides (a value JSON cannot hold)
        return type(error).__name__, b"", ""


def json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return rng.choice(["a", "", "ü", 0, -7, 2**40, 1.5, -0.0, 1e300, True, False, None])
    if roll < 0.75:
        return {rng.choice("abcde"): json_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [json_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def odd_value(rng: random.Random) -> Any:
    """Values pydantic may coerce, reject or rewrite: the plain path must leave them alone."""
    return rng.choice([float("inf"), float("nan"), (1, 2), {1: "a"}, {"a": (1,)}, b"x", "true", 1, 0.0])


def content_item(rng: random.Random) -> Any:
    if rng.random() < 0.6:
        return {"type": "text", "text": rng.choice(["hello", "", "ü\n"])}
    return rng.choice(
        [
            {"type": "text", "text": "hello"},
            {"text": "reordered", "type": "text"},
            {"type": "text", "text": ""},
            {"type": "text", "text": "x", "annotations": {"audience": ["user"], "priority": 0.5}},
            {"type": "text", "text": "x", "_meta": {"k": 1}},
            {"type": "text", "text": "x", "extra": None},
            {"type": "text", "text": 5},
            {"type": "text"},
            {"type": "image", "data": "aGVsbG8=", "mimeType": "image/png"},
            {"type": "resource_link", "uri": "file:///a", "name": "a"},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "t"}},
            "text",
        ]
    )


META_KEYS = ["a", "fastmcp", mcp_types.SERVER_INFO_META_KEY, "io_modelcontextprotocol_server_info"]


def meta_of(rng: random.Random) -> dict[str, Any]:
    """A `_meta` as backends write it: the server-info key (by its alias, now and then by its
    field name, which the model keeps as any other key) anywhere among others, `None`s at the top and below."""
    keys = rng.sample(META_KEYS, rng.randrange(len(META_KEYS) + 1))
    return {
        key: rng.choice([None, {"name": "b", "version": "1", "title": None}, json_value(rng)]) for key in keys
    }


def result_of(rng: random.Random) -> dict[str, Any]:
    result: dict[str, Any] = {}
    keys = ["content", "isError", "structuredContent", "_meta", "resultType", "extra"]
    rng.shuffle(keys)
    for key in keys:
        if rng.random() < (0.85 if key == "extra" else 0.5) and key != "content":
            continue
        if key == "content":
            if rng.random() < 0.95:
                result[key] = [content_item(rng) for _ in range(rng.randrange(3))]
            else:
                result[key] = odd_value(rng)
        elif key == "isError":
            result[key] = rng.choice([True, False, None, "true", 1])
        elif key == "resultType":
            result[key] = rng.choice(["complete", "complete", "input_required", "other"])
        elif key == "extra":
            result[key] = json_value(rng)
        elif key == "_meta" and rng.random() < 0.5:
            result[key] = meta_of(rng)
        else:
            value = json_value(rng) if rng.random() < 0.85 else odd_value(rng)
            result[key] = {"value": value} if rng.random() < 0.7 else value
    return result


@pytest.mark.parametrize("seed", range(4))
def test_every_result_shapes_as_the_sdks_models_shape_it(seed: int) -> None:
    rng = random.Random(seed)
    plain = 0
    for _ in range(1500):
        result = result_of(rng)
        for version in VERSIONS:
            expected = outcome(oracle, result, version)
            got = outcome(ours, result, version)
            assert got == expected, (result, version)
            taken = {"resultType": "complete", **result} if version in MODERN_PROTOCOL_VERSIONS else result
            plain += shaping._plain(copy.deepcopy(taken), version) is not None
    assert plain > 1000  # the shortcut itself was exercised, not only the fallback


@pytest.mark.parametrize("version", VERSIONS)
def test_what_a_typical_tool_returns_takes_the_plain_path(version: str) -> None:
    result: dict[str, Any] = {
        "_meta": {"fastmcp": {"wrap_result": True}},
        "content": [{"type": "text", "text": "hello"}],
        "structuredContent": {"result": "hello"},
    }
    if version in MODERN_PROTOCOL_VERSIONS:
        result["resultType"] = "complete"
        result["_meta"][mcp_types.SERVER_INFO_META_KEY] = {"name": "backend", "version": "1"}
    shaped = shaping._plain(result, version)
    assert shaped is not None
    assert orjson.dumps(shaped) == orjson.dumps(
        spec_methods.serialize_server_result("tools/call", version, result)
    )


def test_a_large_structured_result_is_left_to_pydantic() -> None:
    rows = {"rows": [{"id": i} for i in range(shaping.PLAIN_NODES)]}
    result = {"content": [{"type": "text", "text": "rows"}], "structuredContent": rows}
    assert shaping._plain(result, "2025-11-25") is None
    assert outcome(ours, result, "2025-11-25") == outcome(oracle, result, "2025-11-25")


OTHERS: list[tuple[str, dict[str, Any]]] = [
    ("resources/read", {"contents": [{"uri": "echo://greeting", "mimeType": "text/plain", "text": "hello"}]}),
    ("resources/read", {"contents": [{"uri": "a://b", "blob": "aGk=", "_meta": {"k": None}}], "extra": 1}),
    ("resources/read", {"contents": [{"uri": "a://b", "text": "t"}], "ttlMs": 5, "_meta": {"x": 1}}),
    ("resources/read", {"contents": "not a list"}),
    ("prompts/get", {"messages": [{"role": "user", "content": {"type": "text", "text": "Shout hi!"}}]}),
    ("prompts/get", {"description": None, "messages": [], "_meta": {mcp_types.SERVER_INFO_META_KEY: None}}),
    ("prompts/get", {"messages": [{"role": "robot", "content": {"type": "text", "text": "x"}}]}),
]


@pytest.mark.parametrize(("method", "result"), OTHERS)
@pytest.mark.parametrize("version", VERSIONS)
def test_reads_and_prompts_shape_as_the_sdk_shapes_them(
    method: str, result: dict[str, Any], version: str
) -> None:
    expected = outcome(lambda r, v: oracle(r, v, method), result, version)
    assert outcome(lambda r, v: ours(r, v, method), result, version) == expected
