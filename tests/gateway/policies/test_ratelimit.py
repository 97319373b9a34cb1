"""Rate limits on their own, with a hand-driven clock (RELIABILITY.md §5 item 23)."""

from __future__ import annotations

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair

from gateway.config.security import AuthConfig, Rate, RateLimits
from gateway.errors import RequestRejected
from gateway.front.auth import GatewayVerifier
from gateway.policies.ratelimit import MemoryBuckets, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, **config: object) -> RateLimiter:
    return RateLimiter(RateLimits.model_validate(config), backends={}, clock=clock)


@pytest.mark.asyncio
class TestTokenBuckets:
    async def test_offered_100_per_second_against_10_per_second_burst_20(self) -> None:
        """Over 10 s the limiter accepts the burst plus 10 per second: 120, within ±10%."""
        clock = Clock()
        limits = limiter(clock, per_principal={"rate": 10, "burst": 20})
        accepted = 0
        for _ in range(1000):  # 100 calls per second for 10 seconds
            clock.now += 0.01
            try:
                await limits.check("ops", "t", "b")
                accepted += 1
            except RequestRejected:
                pass
        assert 108 <= accepted <= 132

    async def test_a_refusal_says_how_long_to_wait_and_costs_nothing(self) -> None:
        clock = Clock()
        limits = limiter(clock, per_principal={"rate": 1, "per": "2s", "burst": 1})
        await limits.check("ops", "t", "b")
        with pytest.raises(RequestRejected) as refused:
            await limits.check("ops", "t", "b")
        assert refused.value.reason == "rate_limited"
        assert refused.value.retry_after == pytest.approx(2.0)
        assert "principal 'ops'" in refused.value.message
        for _ in range(5):  # hammering while refused does not push the next token further away
            clock.now += 0.1
            with pytest.raises(RequestRejected):
                await limits.check("ops", "t", "b")
        clock.now += 1.5  # 2.0 s after the first call
        await limits.check("ops", "t", "b")

    async def test_buckets_are_per_principal(self) -> None:
        clock = Clock()
        limits = limiter(clock, per_principal={"rate": 1, "burst": 1})
        await limits.check("ops", "t", "b")
        await limits.check("analyst", "t", "b")
        with pytest.raises(RequestRejected):
            await limits.check("ops", "t", "b")

    async def test_a_jwt_subject_never_draws_on_the_api_key_principal_of_the_same_name(self) -> None:
        """Regression: a JWT with `sub=ops` spent the API key `ops`'s tokens (names from the verifier)."""
        pair, key = RSAKeyPair.generate(), "ops-key-0123456789abcdef"
        auth = AuthConfig.model_validate(
            {
                "api_keys": {"ops": {"key": key}},
                "jwt": {"issuer": "i", "audience": "a", "public_key": pair.public_key},
            }
        )
        verifier = GatewayVerifier(auth)
        by_key = await verifier.verify_token(key)
        by_jwt = await verifier.verify_token(pair.create_token(subject="ops", issuer="i", audience="a"))
        assert by_key is not None and by_jwt is not None
        limits = limiter(Clock(), per_principal={"rate": 1, "burst": 1}, per_tool={"rate": 1, "burst": 1})
        await limits.check(by_key.client_id, "t", "b")
        await limits.check(by_jwt.client_id, "t", "b")
        with pytest.raises(RequestRejected, match="principal 'ops'"):
            await limits.check(by_key.client_id, "t", "b")

    async def test_a_call_takes_from_all_its_buckets_or_from_none(self) -> None:
        clock = Clock()
        limits = limiter(
            clock, per_principal={"rate": 10, "burst": 10}, tools={"slow_*": {"rate": 1, "burst": 1}}
        )
        await limits.check("ops", "slow_tool", "b")
        with pytest.raises(RequestRejected, match="tool 'slow_tool'"):
            await limits.check("ops", "slow_tool", "b")
        for _ in range(9):  # the refused call did not spend a principal token
            await limits.check("ops", "fast_tool", "b")
        with pytest.raises(RequestRejected, match="principal 'ops'"):
            await limits.check("ops", "fast_tool", "b")

    async def test_a_backend_limit_holds_for_everyone_together(self) -> None:
        clock = Clock()
        limits = RateLimiter(RateLimits(), backends={"db": Rate(rate=2, burst=2)}, clock=clock)
        await limits.check("a", "t", "db")
        await limits.check("b", "t", "db")
        with pytest.raises(RequestRejected, match="backend 'db'"):
            await limits.check("c", "t", "db")
        await limits.check("c", "t", "other")

    async def test_memory_is_bounded(self) -> None:
        store = MemoryBuckets(max_tracked=100)
        limits = RateLimiter(
            RateLimits(per_principal=Rate(rate=1), max_tracked=100), backends={}, store=store, clock=Clock()
        )
        for index in range(1000):
            await limits.check(f"principal-{index}", "t", "b")
        assert len(store) == 100
