"""Rate-limit buckets in Redis, shared by every replica of the gateway.

    rate_limits:
      per_principal: {rate: 100, per: 1m}
      store: "${REDIS_URL}"          # redis://[[user]:password@]host[:port][/db], or rediss://

One Lua script does a whole `take`, atomically: it reads the Redis server's clock (`TIME`, so
replicas whose clocks drift still agree), refills every bucket the call draws from, and takes one
token from all of them or from none, returning how long to wait. A bucket is a hash
`<key_prefix><bucket key>` = {level, at}, written only when a token is taken, and set to expire
when it would be full again: a missing bucket *is* a full one, so idle principals cost nothing
and no count of buckets is needed (the memory store's `max_tracked`).

Redis unreachable (down, too slow, refusing the password): with `fail_open` (the default) calls go
through without a limit and a warning is logged, at most once per `WARN_EVERY` seconds; otherwise
they are refused (`reason: rate_limit_unavailable`). The URL's password never appears in logs,
errors or `repr`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from gateway.config.security import RateLimits
from gateway.errors import RequestRejected
from gateway.policies.ratelimit import EPSILON, Bucket, Clock

logger = logging.getLogger("gateway.ratelimit")

DEFAULT_TIMEOUT = 0.5
"""Seconds to connect to Redis, and to wait for one answer, before the store counts as unreachable."""
WARN_EVERY = 30.0
"""Seconds between two warnings that Redis is unreachable (the rest are counted)."""
EXPIRY_MARGIN_MS = 1000

TAKE = f"""
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels, wait = {{}}, 0
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local stored = redis.call('HMGET', key, 'level', 'at')
  local level = capacity
  if stored[1] then
    level = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * rate)
  end
  levels[i] = level
  if level < 1 - {EPSILON!r} then
    wait = math.max(wait, (1 - level) / rate)
  end
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    local rate, capacity = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
    local level = math.max(0, levels[i] - 1)
    redis.call('HSET', key, 'level', level, 'at', now)
    redis.call('PEXPIRE', key, math.ceil((capacity - level) / rate * 1000) + {EXPIRY_MARGIN_MS})
  end
end
return string.format('%.6f', wait)
"""
"""KEYS: the buckets; ARGV: tokens per second and capacity of each. Returns the wait (0: taken).
A refused call writes nothing: its buckets keep their level, time and expiry."""
TAKE_SHA = hashlib.sha1(TAKE.encode(), usedforsecurity=False).hexdigest()


class RedisBuckets:
    """Buckets in Redis (a `BucketStore`); the `now` passed to `take` is ignored for the server's."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "mcp-gateway:rl:",
        fail_open: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        self._url = url
        self._password = urlsplit(url).password or ""
        self._prefix = key_prefix
        self._fail_open = fail_open
        self._timeout = timeout
        self._clock = clock
        self._redis: Redis | None = None
        self._warned_at: float | None = None
        self._suppressed = 0
        self._failing = False

    @classmethod
    def for_config(cls, config: RateLimits) -> RedisBuckets | None:
        """The store `config` asks for, or None for the memory store."""
        if config.redis_url is None:
            return None
        return cls(
            config.redis_url.get_secret_value(),
            key_prefix=config.key_prefix,
            fail_open=config.fail_open,
            timeout=config.store_timeout,
        )

    def __repr__(self) -> str:
        return (
            f"RedisBuckets({redact(self._url)!r}, key_prefix={self._prefix!r}, fail_open={self._fail_open}, "
            f"timeout={self._timeout:g})"
        )

    def key(self, bucket: Bucket) -> str:
        """The Redis key of a bucket."""
        return self._prefix + bucket.key

    async def take(self, buckets: Sequence[Bucket], now: float) -> float:
        keys = [self.key(b) for b in buckets]
        args = [str(x) for b in buckets for x in (b.tokens_per_second, b.capacity)]
        try:
            wait = await self._run(keys, args)
        except (RedisError, OSError) as error:
            return self._unreachable(error)
        if self._failing:
            self._failing = False
            logger.info("rate-limit store %s is reachable again", redact(self._url))
        return wait

    async def aclose(self) -> None:
        """Close the connections (a later `take` opens new ones)."""
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()

    async def _run(self, keys: list[str], args: list[str]) -> float:
        client = self._client()
        try:
            answer = await client.evalsha(TAKE_SHA, len(keys), *keys, *args)
        except NoScriptError:  # first use on this server (or it restarted): EVAL caches the script
            answer = await client.eval(TAKE, len(keys), *keys, *args)
        return float(answer)

    def _client(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(
                self._url,
                decode_responses=True,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=Retry(NoBackoff(), 0),  # a retried script may take twice; unreachable is handled above
            )
        return self._redis

    def _unreachable(self, error: Exception) -> float:
        self._failing = True
        detail = f"{type(error).__name__}: {error}"
        if self._password:
            detail = detail.replace(self._password, "***")
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            more = f" ({self._suppressed} more since the last warning)" if self._suppressed else ""
            action = "calls go through without rate limits" if self._fail_open else "calls are refused"
            logger.warning(
                "rate-limit store %s is unreachable (%s); %s%s", redact(self._url), detail, action, more
            )
            self._warned_at, self._suppressed = now, 0
        else:
            self._suppressed += 1
        if self._fail_open:
            return 0.0
        raise RequestRejected(
            "rate limits cannot be checked right now (the rate-limit store is unreachable); "
            "the call was not run, retry shortly",
            reason="rate_limit_unavailable",
        )


def redact(url: str) -> str:
    """The URL with its password replaced by `***` (for logs and `repr`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
