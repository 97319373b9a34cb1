"""What a rate bucket is keyed by and how buckets are kept (RELIABILITY.md §5 item 23): the
principal the front verified, never a name a client puts in a header; time from a monotonic
clock; at most `max_tracked` buckets, the least recently used dropped first.
"""

from __future__ import annotations

import inspect
import time

import pytest
from mcp.shared.exceptions import MCPError

from gateway.config.security import Rate, RateLimits
from gateway.errors import RequestRejected
from gateway.policies.ratelimit import MemoryBuckets, RateLimiter
from tests.conftest import make_gateway
from tests.gateway.authed import http_front

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdefgh"
CONFIG = f"""
auth:
  api_keys:
    alice: {{key: "{ALICE}"}}
    bob: {{key: "{BOB}"}}
rate_limits:
  per_principal: {{rate: 1, per: 1h, burst: 1}}
backends:
  echo: {{module: tests.fakes.echo}}
"""
CLAIMED = [
    {"x-gateway-principal": "bob"},
    {"x-forwarded-user": "bob", "x-user": "bob"},
    {"x-principal": "carol", "x-client-id": "carol", "x-api-key": BOB},
]
"""Headers a client might hope the gateway reads its name from."""


@pytest.mark.asyncio
async def test_a_name_in_a_header_never_chooses_the_bucket(era: str) -> None:
    """alice, claiming in headers to be someone else, still draws on alice's one token; bob's
    bucket, which she tried to spend, is untouched."""
    async with http_front(make_gateway(CONFIG)) as front:
        async with front.client(auth=ALICE, mode=era, headers=CLAIMED[0]) as client:
            await client.call_tool("echo_echo", {"text": "spends alice's token"})
        for claimed in CLAIMED:
            async with front.client(auth=ALICE, mode=era, headers=claimed) as client:
                with pytest.raises(MCPError, match=r"rate limit exceeded \(principal 'alice'"):
                    await client.call_tool_mcp("echo_echo", {"text": "again"})
        async with front.client(auth=BOB, mode=era) as client:
            assert (await client.call_tool("echo_echo", {"text": "bob's own"})).data == "bob's own"


def test_the_limiter_runs_on_the_monotonic_clock() -> None:
    """Wall-clock steps (NTP, an operator) can neither refill nor drain a bucket."""
    assert inspect.signature(RateLimiter).parameters["clock"].default is time.monotonic
    gateway = make_gateway(CONFIG)
    assert gateway.policies.current.limiter._clock is time.monotonic


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_the_least_recently_used_bucket_goes_first() -> None:
    """A principal that keeps calling keeps its (empty) bucket while 150 others come and go; the
    first of those, idle since, was dropped and starts full again."""
    store = MemoryBuckets(max_tracked=100)
    limits = RateLimiter(
        RateLimits(per_principal=Rate(rate=1, per=3600, burst=1), max_tracked=100),
        backends={},
        store=store,
        clock=Clock(),
    )
    await limits.check("busy", "t", "b")
    for index in range(150):
        await limits.check(f"other-{index}", "t", "b")
        with pytest.raises(RequestRejected):
            await limits.check("busy", "t", "b")  # refused, and still recently used
    assert len(store) == 100
    await limits.check("other-0", "t", "b")  # dropped long ago: a new, full bucket
    with pytest.raises(RequestRejected):
        await limits.check("other-149", "t", "b")  # recent: still empty
