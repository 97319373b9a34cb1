"""Kept results: oversized tool results waiting for their caller to read them.

With `limits.oversized_response: resource_link`, a tool result above `max_response_bytes` is
kept here and the caller gets a link to it (see `gateway.policies.offload`). The store is memory
only and bounded three ways (`limits.result_store`): a result can be read for `ttl` after the
call (a fixed lifetime, not renewed by reads); at most `max_items` results and `max_bytes`
together are kept, the least recently used leaving first; a single result larger than
`max_bytes` is not kept at all. A result belongs to the principal whose call produced it: for
anyone else it does not exist. Ids are random (128 bits), so they cannot be guessed either.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config.security import ResultStoreConfig
from gateway.principal import Principal


@dataclass(frozen=True)
class Kept:
    """One kept result: the `resources/read` contents it is served as."""

    id: str
    owner: str
    contents: tuple[Mapping[str, Any], ...]
    size: int
    """Bytes counted against `max_bytes` (the serialized contents)."""
    created: float


def owner_of(principal: Principal) -> str:
    """The identity a kept result belongs to."""
    return f"{principal.kind}:{principal.name}"


def new_id() -> str:
    """A fresh, unguessable result id (URL-safe)."""
    return secrets.token_urlsafe(16)


class ResultStore:
    """Bounded, expiring, per-principal storage of results (LRU eviction)."""

    def __init__(self, config: ResultStoreConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._items: OrderedDict[str, Kept] = OrderedDict()  # least recently used first
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def total_bytes(self) -> int:
        """Bytes of every result kept now."""
        return self._bytes

    def configure(self, config: ResultStoreConfig) -> None:
        """Adopt new bounds (hot reload): what no longer fits leaves, least recently used first."""
        self.config = config
        self._expire()
        self._shrink(0, 0)

    def put(self, item_id: str, principal: Principal, contents: list[Mapping[str, Any]], size: int) -> bool:
        """Keep a result; False when it is larger than the whole store may hold.

        Room is made among the caller's own results first (least recently used first); only when
        it has none left does the principal holding the most give way, never one holding less:
        one principal's results cannot push out a lighter user's."""
        self._expire()
        if size > self.config.max_bytes:
            return False
        owner = owner_of(principal)
        self._drop(item_id)
        while len(self._items) + 1 > self.config.max_items or self._bytes + size > self.config.max_bytes:
            victim = self._oldest_of(owner) or self._oldest_of_heaviest(heavier_than=size)
            if victim is None:
                return False
            self._drop(victim)
        self._items[item_id] = Kept(item_id, owner, tuple(contents), size, self.clock())
        self._bytes += size
        return True

    def _oldest_of(self, owner: str) -> str | None:
        return next((k for k, v in self._items.items() if v.owner == owner), None)

    def _oldest_of_heaviest(self, *, heavier_than: int) -> str | None:
        """The least recently used result of the principal holding the most bytes, if it holds
        more than the caller would (`heavier_than`)."""
        held: dict[str, int] = {}
        for kept in self._items.values():
            held[kept.owner] = held.get(kept.owner, 0) + kept.size
        if not held:
            return None
        heaviest = max(held, key=lambda owner: held[owner])
        return self._oldest_of(heaviest) if held[heaviest] > heavier_than else None

    def get(self, item_id: str, principal: Principal) -> Kept | None:
        """The result, if it exists, has not expired, and belongs to `principal`."""
        self._expire()
        kept = self._items.get(item_id)
        if kept is None or not secrets.compare_digest(kept.owner, owner_of(principal)):
            return None
        self._items.move_to_end(item_id)
        return kept

    def _expire(self) -> None:
        # A fixed lifetime from creation: the oldest entry expires first, whatever its use.
        cutoff = self.clock() - self.config.ttl
        for item_id in [k for k, v in self._items.items() if v.created <= cutoff]:
            self._drop(item_id)

    def _shrink(self, items: int, size: int) -> None:
        """Evict least recently used results until `items` more results of `size` bytes fit."""
        config = self.config
        while self._items and (
            len(self._items) + items > config.max_items or self._bytes + size > config.max_bytes
        ):
            self._drop(next(iter(self._items)))

    def _drop(self, item_id: str) -> None:
        kept = self._items.pop(item_id, None)
        if kept is not None:
            self._bytes -= kept.size
