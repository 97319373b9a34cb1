"""`RecentCalls`: the latest audit records, kept in memory for the operator console.

A bounded ring (`collections.deque` with a `maxlen`): adding a record is O(1) and drops the
oldest one past the capacity. Each record gets a sequence number, so a reader asks for what came
after the last one it saw and never misses or repeats one while the ring holds it.

The audit log hands a record here whenever it writes one (its sink is on). With the sink `off`
it builds no record at all, unless the console is being watched: every console request calls
`watch()`, which keeps recording on for `WATCH_SECONDS`; once that lapses with nobody watching,
the next record turns it off again, and calls cost exactly what they cost without a console.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

WATCH_SECONDS = 30.0
"""How long recording stays on (audit sink off) after the console last asked for anything."""


class RecentCalls:
    """The last `capacity` audit records, numbered in arrival order."""

    def __init__(self, capacity: int = 1000, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ring: deque[tuple[int, Mapping[str, Any]]] = deque(maxlen=capacity)
        self._numbers = itertools.count(1)
        self._clock = clock
        self._until = 0.0
        self.watched = False
        """Whether the console asked for anything in the last `WATCH_SECONDS` (as of the last record)."""

    @property
    def capacity(self) -> int:
        return self._ring.maxlen or 0

    def watch(self, seconds: float = WATCH_SECONDS) -> None:
        """Keep records coming for `seconds` even with the audit sink off (the console is open)."""
        self._until = self._clock() + seconds
        self.watched = True

    def add(self, record: Mapping[str, Any]) -> None:
        """Keep one record (the caller does not change it afterwards)."""
        self._ring.append((next(self._numbers), record))
        if self.watched and self._clock() > self._until:
            self.watched = False  # nobody has looked for a while: the sink alone decides again

    def after(self, number: int, *, limit: int | None = None) -> list[tuple[int, Mapping[str, Any]]]:
        """The records numbered above `number`, oldest first (the newest `limit` of them)."""
        kept = list(self._ring)  # a copy in one step: the ring may grow while we read
        found = [entry for entry in kept if entry[0] > number]
        return found if limit is None else found[max(0, len(found) - limit) :]

    @property
    def last(self) -> int:
        """The number of the newest record (0: none yet)."""
        return self._ring[-1][0] if self._ring else 0
