"""The fast path's `Mcp-Param-*` check (`gateway.relay.admission`) answers as the SDK's own
check does, also from its cache of which schemas mirror arguments into headers."""

from __future__ import annotations

import itertools
from typing import Any

from mcp.shared.inbound import validate_mcp_param_headers

from gateway.relay import admission

MIRRORED = {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}
PLAIN = {"type": "object", "properties": {"region": {"type": "string"}}}
INVALID = {"type": "object", "properties": {"region": {"type": "object", "x-mcp-header": "Region"}}}
NESTED = {
    "type": "object",
    "properties": {
        "where": {"type": "object", "properties": {"zone": {"type": "integer", "x-mcp-header": "Zone"}}}
    },
}
ARGUMENTS: list[Any] = [{}, {"region": "eu"}, {"region": "us"}, {"where": {"zone": 3}}, {"region": None}]
HEADERS: list[dict[str, str]] = [
    {},
    {"mcp-param-region": "eu"},
    {"mcp-param-zone": "3"},
    {"mcp-param-zone": "4"},
]


def test_the_check_agrees_with_the_sdks_for_every_schema_twice() -> None:
    for _ in range(2):  # the second round answers from the cache
        for schema, arguments, headers in itertools.product(
            [MIRRORED, PLAIN, INVALID, NESTED], ARGUMENTS, HEADERS
        ):
            expected = validate_mcp_param_headers(schema, arguments, headers) is None
            tool = {"name": "t", "inputSchema": schema}
            got = admission.headers_agree(tool, {"name": "t", "arguments": arguments}, headers)
            assert got == expected, (schema, arguments, headers)


def test_a_mismatch_is_refused_from_the_cache_too() -> None:
    tool = {"name": "t", "inputSchema": {**MIRRORED}}
    call = {"name": "t", "arguments": {"region": "eu"}}
    assert [admission.headers_agree(tool, call, {"mcp-param-region": "us"}) for _ in range(3)] == [False] * 3
    assert id(tool["inputSchema"]) in admission._mirroring
