"""An in-process backend is as far from the caller's request as a remote one: it never sees the
caller's headers (its gateway API key among them) or access token."""

from __future__ import annotations

import pytest

from tests.conftest import make_gateway
from tests.gateway.authed import OPS_KEY, OPS_ONLY, http_front

KEY = OPS_KEY
CONFIG = (
    OPS_ONLY
    + """
backends:
  peek:
    module: tests.fakes.peek
"""
)


@pytest.mark.asyncio
async def test_a_module_backend_sees_nothing_of_the_callers_request(era: str) -> None:
    async with http_front(make_gateway(CONFIG)) as front, front.client(auth=KEY, mode=era) as client:
        result = await client.call_tool("peek_seen", {})
    seen = result.structured_content
    assert seen == {"headers": [], "token": None}, seen
