"""The drain: calls in flight, and a shutdown that lets them finish.

Every forwarded call enters and leaves the drain. On SIGTERM the front starts draining: new
calls are refused (503 with Retry-After), and the shutdown waits until the last call in flight
has left, or the drain timeout has passed.
"""

from __future__ import annotations

import anyio


class Drain:
    """Calls in flight, and whether the gateway is shutting down."""

    def __init__(self) -> None:
        self.in_flight = 0
        """Calls being forwarded right now."""
        self.draining = False
        """Shutting down: new calls are refused while those in flight finish."""
        self._drained = anyio.Event()

    def enter(self) -> None:
        """A call starts."""
        self.in_flight += 1

    def leave(self) -> None:
        """A call has ended."""
        self.in_flight -= 1
        if self.draining and self.in_flight == 0:
            self._drained.set()

    def begin(self) -> None:
        """Refuse new calls from now on."""
        self.draining = True
        if self.in_flight == 0:
            self._drained.set()

    async def wait(self, timeout: float) -> bool:
        """Wait (at most `timeout`) for the calls in flight to end; True when none is left."""
        with anyio.move_on_after(timeout):
            await self._drained.wait()
        return self.in_flight == 0
