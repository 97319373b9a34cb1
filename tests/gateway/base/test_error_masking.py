"""Internal exception text never reaches a client (RELIABILITY.md §5 item 32): a bug inside the
gateway's request pipeline (anything that is not a `GatewayError`) answers a generic internal
error, not its message, through the real HTTP front in process.

Left to the SDK, a handshake-era (2025-11-25) client would get `code: 0` and `str(exception)`
(mcp/shared/jsonrpc_dispatcher.py); the relay's boundary (`gateway.relay.boundary`) answers first.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

import gateway.dispatch.forward
from gateway.errors import INTERNAL_ERROR
from tests.conftest import TWO_BACKENDS, make_gateway
from tests.gateway.authed import http_front

INTERNAL = "KeyError('tenant') at /srv/gateway/dispatch/forward.py:184 password=hunter2"

ERAS = ["legacy", "2026-07-28"]


def broken(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError(INTERNAL)


@pytest.mark.asyncio
@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("method", ["tools/call", "prompts/get", "resources/read"])
async def test_a_bug_in_the_pipeline_answers_a_generic_internal_error(
    monkeypatch: pytest.MonkeyPatch, era: str, method: str
) -> None:
    monkeypatch.setattr(gateway.dispatch.forward, "check_request", broken)
    async with http_front(make_gateway(TWO_BACKENDS)) as front, front.client(mode=era) as client:
        with pytest.raises(MCPError) as failed:
            if method == "tools/call":
                await client.call_tool_mcp("echo_echo", {"text": "x"})
            elif method == "prompts/get":
                await client.get_prompt("echo_shout", {"word": "x"})
            else:
                await client.read_resource("echo://echo/greeting")
    error = failed.value.error
    assert error.code == INTERNAL_ERROR
    assert "hunter2" not in str(error) and "KeyError" not in error.message and "/srv/" not in error.message
