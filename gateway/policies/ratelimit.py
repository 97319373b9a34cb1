"""Rate limits: token buckets per principal, per principal and tool, and per backend.

Only calls count (`tools/call`, `prompts/get`, `resources/read`); lists and handshakes are the
protocol's own traffic and are free. Buckets refill continuously on a monotonic clock; a call
takes one token from every bucket that applies, or from none: a refused call costs nothing and
is told how long to wait. Buckets live behind `BucketStore` so several gateway replicas can
share them (Redis); the in-memory store keeps a bounded number of buckets, dropping the least
recently used.
"""

from __future__ import annotations

import fnmatch
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.config.security import Rate, RateLimits
from gateway.errors import RequestRejected

Clock = Callable[[], float]
EPSILON = 1e-9
"""Levels this close to a whole token count as one (clock arithmetic is floating point)."""


@dataclass(frozen=True)
class Bucket:
    """One bucket to draw from: its key and its rate."""

    key: str
    tokens_per_second: float
    capacity: int
    label: str
    """What the limit is, for the refusal message (`principal 'ops'`)."""


class BucketStore(Protocol):
    """Where bucket levels live."""

    async def take(self, buckets: Sequence[Bucket], now: float) -> float:
        """Take one token from every bucket, atomically; 0.0 on success, else the seconds to wait
        (nothing is taken when any bucket is empty)."""
        ...


class MemoryBuckets:
    """Buckets in this process, at most `max_tracked` of them (least recently used dropped)."""

    def __init__(self, max_tracked: int = 10_000) -> None:
        self._max = max_tracked
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._levels)

    async def take(self, buckets: Sequence[Bucket], now: float) -> float:
        levels = [self._level(b, now) for b in buckets]
        wait = max(
            (
                (1.0 - level) / b.tokens_per_second
                for b, level in zip(buckets, levels, strict=True)
                if level < 1.0 - EPSILON
            ),
            default=0.0,
        )
        for bucket, level in zip(buckets, levels, strict=True):
            self._store(bucket.key, max(0.0, level - 1.0) if wait == 0.0 else level, now)
        return wait

    def _level(self, bucket: Bucket, now: float) -> float:
        stored = self._levels.get(bucket.key)
        if stored is None:
            return float(bucket.capacity)
        level, at = stored
        return min(float(bucket.capacity), level + max(0.0, now - at) * bucket.tokens_per_second)

    def _store(self, key: str, level: float, now: float) -> None:
        self._levels[key] = (level, now)
        self._levels.move_to_end(key)
        while len(self._levels) > self._max:
            self._levels.popitem(last=False)


class RateLimiter:
    """Decides whether a call may go ahead now."""

    def __init__(
        self,
        config: RateLimits,
        *,
        backends: dict[str, Rate | None],
        store: BucketStore | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._config = config
        self._backends = backends
        self._store: BucketStore = store if store is not None else MemoryBuckets(config.max_tracked)
        self._clock = clock

    @property
    def active(self) -> bool:
        """Whether any limit is configured."""
        c = self._config
        return bool(c.per_principal or c.per_tool or c.tools or any(self._backends.values()))

    def buckets(self, principal: str, tool: str, backend: str) -> list[Bucket]:
        """The buckets a call by `principal` to `tool` (front name) on `backend` draws from."""
        found: list[Bucket] = []
        c = self._config
        if c.per_principal is not None:
            found.append(_bucket(f"p:{principal}", c.per_principal, f"principal '{principal}'"))
        tool_rate = next(
            (rate for pattern, rate in c.tools.items() if fnmatch.fnmatchcase(tool, pattern)), c.per_tool
        )
        if tool_rate is not None:
            found.append(
                _bucket(f"t:{principal}:{tool}", tool_rate, f"tool '{tool}' for principal '{principal}'")
            )
        backend_rate = self._backends.get(backend)
        if backend_rate is not None:
            found.append(_bucket(f"b:{backend}", backend_rate, f"backend '{backend}'"))
        return found

    async def check(self, principal: str, tool: str, backend: str) -> None:
        """Take a token for this call, or raise `RequestRejected` saying how long to wait."""
        buckets = self.buckets(principal, tool, backend)
        if not buckets:
            return
        wait = await self._store.take(buckets, self._clock())
        if wait > 0.0:
            limits = ", ".join(f"{b.label}: {_describe(b)}" for b in buckets)
            raise RequestRejected(
                f"rate limit exceeded ({limits}); retry in {wait:.2f}s",
                reason="rate_limited",
                retry_after=wait,
            )


def _bucket(key: str, rate: Rate, label: str) -> Bucket:
    return Bucket(key, rate.tokens_per_second, rate.capacity, label)


def _describe(bucket: Bucket) -> str:
    return f"{bucket.tokens_per_second:g}/s, burst {bucket.capacity}"
