"""`SessionLedger`: the handshake-era sessions the front has issued, whose each is, and how many.

A session belongs to the principal whose request opened it: another principal presenting its id
is told it does not exist. A principal may hold at most `max_per_principal` sessions at once (an
authenticated one; without authentication every client is the same `anonymous` principal, and
only the total applies), and the front at most `max_sessions` in all: past either, a new session
is refused with a clear answer instead of filling the server's own table (10,000 sessions) for
everyone. A session leaves the ledger when its client ends it (DELETE), when the server no
longer knows it (it answered 404), or after `idle_timeout` without a request (the server forgets
idle sessions after the same time).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

AUTHENTICATED = frozenset({"api_key", "jwt"})


@dataclass
class _Entry:
    principal: str
    last_used: float


class SessionLedger:
    """Issued session ids → their principals, with the caps on how many."""

    def __init__(
        self,
        *,
        max_sessions: int,
        max_per_principal: int,
        idle_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_sessions = max_sessions
        self.max_per_principal = max_per_principal
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def owner(self, session: str) -> str | None:
        """The principal a session belongs to (None: not issued here, or forgotten)."""
        entry = self._entries.get(session)
        return entry.principal if entry is not None else None

    def used(self, session: str) -> None:
        """A request came for `session`."""
        entry = self._entries.get(session)
        if entry is not None:
            entry.last_used = self._clock()
            self._entries.move_to_end(session)

    def refusal(self, principal: str, kind: str) -> str | None:
        """Why `principal` may not open another session now (None: it may)."""
        self._expire()
        if kind in AUTHENTICATED:
            held = sum(1 for e in self._entries.values() if e.principal == principal)
            if held >= self.max_per_principal:
                return (
                    f"principal '{principal}' already holds {held} sessions "
                    f"(http.max_sessions_per_principal: {self.max_per_principal}); "
                    "end one (DELETE) or let one idle out"
                )
        if len(self._entries) >= self.max_sessions:
            return f"the gateway holds {len(self._entries)} sessions (http.max_sessions: {self.max_sessions})"
        return None

    def issued(self, session: str, principal: str) -> None:
        """The server opened `session` for `principal`."""
        self._entries[session] = _Entry(principal, self._clock())
        self._entries.move_to_end(session)

    def ended(self, session: str) -> None:
        """The session is over."""
        self._entries.pop(session, None)

    def _expire(self) -> None:
        horizon = self._clock() - self._idle_timeout
        while self._entries:
            session, entry = next(iter(self._entries.items()))
            if entry.last_used > horizon:
                break
            del self._entries[session]
