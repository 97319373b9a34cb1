"""Progress on its way back: relayed to the client in order, and remembered.

A `ProgressRelay` passes a backend's progress to the client under the client's own token, and
remembers that something of the answer already reached the client (after that, a failed request
is never tried again). The SDK runs each progress callback in a task of its own, so a backend's
answer can overtake the progress that preceded it on the wire; `settled()` waits for relays
already under way, so the client sees progress before the result, as the backend sent it.
"""

from __future__ import annotations

import anyio
from mcp.shared.dispatcher import ProgressFnT

SETTLE_LIMIT = 5.0
"""Seconds a result waits for progress relays still being written."""


class ProgressRelay:
    """Relays progress to the client and remembers that something of the answer reached it."""

    def __init__(self, relay: ProgressFnT | None) -> None:
        self._relay = relay
        self.any = False
        self._busy = 0
        self._idle: anyio.Event | None = None
        self.progress: ProgressFnT | None = self._progress if relay is not None else None
        """What to hand the backend request (None: the client asked for no progress)."""

    async def _progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.any = True
        assert self._relay is not None
        self._busy += 1
        try:
            await self._relay(progress, total, message)
        finally:
            self._busy -= 1
            if self._busy == 0 and self._idle is not None:
                self._idle.set()

    async def settled(self) -> None:
        """Return once every progress relay that has started has been delivered."""
        if self._busy:
            self._idle = anyio.Event()
            with anyio.move_on_after(SETTLE_LIMIT):
                await self._idle.wait()
