"""Rate limits in Redis, against a real redis-server: shared by replicas, atomic, expiring, and
honest about outages (fail open with a warning, or refuse)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from gateway.config import parse_config
from gateway.config.security import Rate, RateLimits
from gateway.errors import ConfigError, RequestRejected
from gateway.policies.ratelimit import RateLimiter
from gateway.policies.ratelimit_redis import RedisBuckets
from tests.conftest import connected, free_port, make_gateway
from tests.redis_server import RedisServer, redis_server

PASSWORD = "redis-pass-5d1e0c7a"
LIVE = 10.0
"""The store's timeout against a live server: a ceiling a loaded CI machine never reaches (the
production default, half a second, is for a store that should answer in a millisecond)."""
_prefixes = itertools.count()


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """A key prefix of its own for each test (one server serves them all)."""
    return f"test{next(_prefixes)}:"


@pytest_asyncio.fixture
async def inspect(redis: RedisServer) -> AsyncIterator[Redis]:
    """A plain client to look at what the store wrote."""
    client = Redis.from_url(redis.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def stores(redis: RedisServer, prefix: str) -> AsyncIterator[list[RedisBuckets]]:
    """Two stores on one Redis, as two replicas have."""
    made = [RedisBuckets(redis.url, key_prefix=prefix, timeout=LIVE) for _ in range(2)]
    yield made
    for store in made:
        await store.aclose()


def limiter(store: RedisBuckets, *, local_clock: float = 0.0, **config: object) -> RateLimiter:
    """A limiter on `store`; its local clock is frozen (and ignored: Redis keeps the time)."""
    return RateLimiter(RateLimits.model_validate(config), backends={}, store=store, clock=lambda: local_clock)


async def outcome(limits: RateLimiter, principal: str = "ops", tool: str = "t") -> bool:
    try:
        await limits.check(principal, tool, "b")
    except RequestRejected as refused:
        assert refused.reason == "rate_limited"
        return False
    return True


@pytest.mark.asyncio
class TestSharedBuckets:
    async def test_two_replicas_allow_n_calls_in_total_not_2n(self, stores: list[RedisBuckets]) -> None:
        """Two limiters, clocks a day apart, racing 40 calls at once: exactly the burst of 10 pass."""
        a = limiter(stores[0], local_clock=0.0, per_principal={"rate": 10, "per": "1m", "burst": 10})
        b = limiter(stores[1], local_clock=86_400.0, per_principal={"rate": 10, "per": "1m", "burst": 10})
        results = await asyncio.gather(*(outcome(a if i % 2 else b) for i in range(40)))
        assert results.count(True) == 10

    async def test_a_call_takes_from_all_its_buckets_or_from_none(
        self, stores: list[RedisBuckets], inspect: Redis, prefix: str
    ) -> None:
        limits = limiter(
            stores[0],
            per_principal={"rate": 10, "per": "1m", "burst": 10},
            tools={"slow_*": {"rate": 1, "per": "1m"}},
        )
        assert await outcome(limits, tool="slow_tool")
        with pytest.raises(RequestRejected, match="tool 'slow_tool'"):
            await limits.check("ops", "slow_tool", "b")
        for _ in range(9):  # the refused call did not spend a principal token
            assert await outcome(limits, tool="fast_tool")
        with pytest.raises(RequestRejected, match="principal 'ops'"):
            await limits.check("ops", "fast_tool", "b")
        # Redis refills on its own clock while the test runs: a few ms at 10/min, far from a token
        assert float(await inspect.hget(f"{prefix}p:ops", "level")) == pytest.approx(0.0, abs=0.1)

    async def test_a_refused_call_writes_nothing(
        self, stores: list[RedisBuckets], inspect: Redis, prefix: str
    ) -> None:
        limits = RateLimiter(RateLimits(), backends={"db": Rate(rate=1, per=60, burst=1)}, store=stores[0])
        await limits.check("a", "t", "db")
        before = await inspect.hgetall(f"{prefix}b:db")
        with pytest.raises(RequestRejected, match="backend 'db'"):
            await limits.check("b", "t", "db")
        assert await inspect.hgetall(f"{prefix}b:db") == before

    async def test_a_refusal_says_how_long_to_wait(self, stores: list[RedisBuckets]) -> None:
        limits = limiter(stores[0], per_principal={"rate": 1, "per": "2s", "burst": 1})
        await limits.check("ops", "t", "b")
        with pytest.raises(RequestRejected) as refused:
            await limits.check("ops", "t", "b")
        assert refused.value.retry_after is not None and 1.5 < refused.value.retry_after <= 2.0
        assert "principal 'ops': 0.5/s, burst 1" in refused.value.message

    async def test_buckets_refill_with_the_time_redis_keeps(
        self, stores: list[RedisBuckets], inspect: Redis, prefix: str
    ) -> None:
        """Turning a bucket's clock back 30 s is 30 s passing: at 2/minute, one token returns."""
        limits = limiter(stores[0], per_principal={"rate": 2, "per": "1m", "burst": 2})
        assert [await outcome(limits) for _ in range(3)] == [True, True, False]
        key = f"{prefix}p:ops"
        await inspect.hset(key, "at", float(await inspect.hget(key, "at")) - 30.0)
        assert [await outcome(limits) for _ in range(2)] == [True, False]

    async def test_idle_buckets_expire_once_they_would_be_full(
        self, stores: list[RedisBuckets], inspect: Redis, prefix: str
    ) -> None:
        """One token spent at 1/s, burst 5: full again in 1 s, so the key lives about that long."""
        limits = limiter(stores[0], per_principal={"rate": 1, "burst": 5}, per_tool={"rate": 1, "per": "1h"})
        await limits.check("ops", "t", "b")
        principal_ttl = await inspect.pttl(f"{prefix}p:ops")
        tool_ttl = await inspect.pttl(f"{prefix}t:ops:t")
        assert 1000 < principal_ttl <= 2000  # 1 s to refill, plus a margin
        assert 3_600_000 < tool_ttl <= 3_601_000

    async def test_keys_carry_the_configured_prefix(self, redis: RedisServer, inspect: Redis) -> None:
        store = RedisBuckets.for_config(
            RateLimits.model_validate({"store": redis.url, "key_prefix": "replica-set-7:"})
        )
        assert store is not None
        await limiter(store, per_principal={"rate": 5}).check("ops", "t", "b")
        await store.aclose()
        assert await inspect.exists("replica-set-7:p:ops") == 1


@pytest.mark.asyncio
class TestOutages:
    async def test_fail_open_lets_calls_through_and_warns_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        store = RedisBuckets(f"redis://127.0.0.1:{free_port()}/0", fail_open=True)
        limits = limiter(store, per_principal={"rate": 1, "per": "1h", "burst": 1})
        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
            assert [await outcome(limits) for _ in range(5)] == [True] * 5
        warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.ratelimit"]
        assert len(warnings) == 1, warnings
        assert "unreachable" in warnings[0] and "without rate limits" in warnings[0]
        await store.aclose()

    async def test_fail_closed_refuses_with_a_clear_reason(self) -> None:
        store = RedisBuckets(f"redis://127.0.0.1:{free_port()}/0", fail_open=False)
        limits = limiter(store, per_principal={"rate": 100})
        with pytest.raises(RequestRejected) as refused:
            await limits.check("ops", "t", "b")
        assert refused.value.reason == "rate_limit_unavailable"
        assert "rate-limit store is unreachable" in refused.value.message
        assert "not run" in refused.value.message
        await store.aclose()

    async def test_a_redis_that_never_answers_costs_at_most_the_timeout(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
            store = RedisBuckets(
                f"redis://127.0.0.1:{silent.getsockname()[1]}/0", fail_open=False, timeout=0.2
            )
            started = time.monotonic()
            with pytest.raises(RequestRejected, match="unreachable"):
                await limiter(store, per_principal={"rate": 1}).check("ops", "t", "b")
            assert time.monotonic() - started < 2.0
            await store.aclose()

    async def test_an_outage_and_a_fresh_server_after_it(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Redis dies (calls go through), comes back empty (the script is loaded again; limits
        apply again); the recovery is logged."""
        with redis_server(tmp_path) as server:
            store = RedisBuckets(server.url, fail_open=True, timeout=LIVE)
            limits = limiter(store, per_principal={"rate": 1, "per": "1h", "burst": 1})
            assert [await outcome(limits) for _ in range(2)] == [True, False]
            server.kill()
            with caplog.at_level(logging.INFO, logger="gateway.ratelimit"):
                assert [await outcome(limits) for _ in range(2)] == [True, True]
                server.start()
                assert [await outcome(limits) for _ in range(2)] == [True, False]
            messages = [r.getMessage() for r in caplog.records if r.name == "gateway.ratelimit"]
            assert any("reachable again" in m for m in messages), messages
            await store.aclose()


@pytest.mark.asyncio
class TestPasswords:
    @pytest.fixture(scope="class")
    def locked(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
        with redis_server(tmp_path_factory.mktemp("locked"), password=PASSWORD) as server:
            yield server

    async def test_a_password_protected_redis_works(self, locked: RedisServer) -> None:
        store = RedisBuckets(locked.url, timeout=LIVE)
        limits = limiter(store, per_principal={"rate": 1, "per": "1h", "burst": 1})
        assert [await outcome(limits) for _ in range(2)] == [True, False]
        assert PASSWORD not in repr(store) and "***" in repr(store)
        await store.aclose()

    async def test_a_wrong_password_is_reported_without_any_password(
        self, locked: RedisServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        wrong = "wrong-pass-9f8e7d6c"
        store = RedisBuckets(f"redis://:{wrong}@127.0.0.1:{locked.port}/0", fail_open=False, timeout=LIVE)
        with caplog.at_level(logging.DEBUG), pytest.raises(RequestRejected) as refused:
            await limiter(store, per_principal={"rate": 1}).check("ops", "t", "b")
        assert refused.value.reason == "rate_limit_unavailable"
        for text in (refused.value.message, caplog.text, repr(store)):
            assert wrong not in text and PASSWORD not in text
        assert "unreachable" in caplog.text
        await store.aclose()


class TestConfig:
    def test_the_url_comes_from_the_environment_and_stays_secret(self) -> None:
        url = f"redis://:{PASSWORD}@redis.internal:6380/2"
        config = parse_config(
            "rate_limits: {store: '${REDIS_URL}', key_prefix: 'gw:', fail_open: false, store_timeout: 2s}",
            environ={"REDIS_URL": url},
        ).rate_limits
        assert config.redis_url is not None and config.redis_url.get_secret_value() == url
        assert PASSWORD not in repr(config) and PASSWORD not in json.dumps(config.model_dump(mode="json"))
        store = RedisBuckets.for_config(config)
        assert (
            repr(store)
            == "RedisBuckets('redis://:***@redis.internal:6380/2', key_prefix='gw:', fail_open=False, timeout=2)"
        )
        with pytest.raises(ConfigError, match=r"rate_limits\.store_timeout"):
            parse_config("rate_limits: {store_timeout: 0s}", environ={})

    def test_memory_is_the_default_and_bad_urls_are_refused_without_echoing_them(self) -> None:
        assert RateLimits().store == "memory" and RedisBuckets.for_config(RateLimits()) is None
        for value, expected in [
            ("http://cache:6379", "must be `memory` or a Redis URL"),
            (f"redis://:{PASSWORD}@cache:port/0", "not a valid Redis URL"),
            (f"rediss://:{PASSWORD}@/0", "not a valid Redis URL"),
        ]:
            with pytest.raises(ConfigError) as caught:
                parse_config("rate_limits: {store: '${URL}'}", environ={"URL": value})
            assert caught.value.problems[0].startswith("rate_limits.store (line 1): ")
            assert expected in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.asyncio
async def test_the_gateway_limits_calls_in_redis_and_closes_its_client(
    redis: RedisServer, prefix: str
) -> None:
    gateway = make_gateway(
        f"""
        rate_limits:
          per_principal: {{rate: 2, per: 1m}}
          store: "${{REDIS_URL}}"
          key_prefix: "{prefix}"
        backends:
          an:
            module: tests.fakes.echo
        """,
        environ={"REDIS_URL": redis.url},
    )
    assert isinstance(gateway.shared_buckets, RedisBuckets)
    async with connected(gateway) as client:
        for _ in range(2):
            assert (await client.call_tool("an_echo", {"text": "hi"})).data == "hi"
        with pytest.raises(Exception, match="rate limit exceeded"):
            await client.call_tool("an_echo", {"text": "hi"})
        assert gateway.shared_buckets._redis is not None
    assert gateway.shared_buckets._redis is None, "the Redis client is closed with the gateway"
