"""`Abandonable`: the fast path's way to stop serving a call whose client went away.

What an `anyio.CancelScope` around the call would do, with asyncio's own cancellation (an anyio
scope costs a `getpid` system call on entry on Python 3.11, on every call): `cancel` cancels the
task serving the call, once, and only while the call runs; `__exit__` takes back that
cancellation alone (`Task.uncancel`, as `asyncio.timeout` does) and notes it was caught. A
cancellation from anywhere else (the server stopping) goes on as it came.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Abandonable:
    """`with Abandonable() as call: ...`; `call.cancel()` from a callback abandons the block."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._task = asyncio.current_task(loop)  # given the loop, no lookup (a system call on 3.11)
        self._open = False
        self._requested = False
        self.cancelled_caught = False

    def __enter__(self) -> Abandonable:
        self._open = True
        return self

    def cancel(self) -> None:
        """Abandon the block, if it is still running (later calls do nothing)."""
        if self._open and not self._requested and self._task is not None:
            self._requested = True
            self._task.cancel()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool:
        self._open = False
        if not self._requested or self._task is None:
            return False
        if self._task.uncancel() > 0:
            return False  # cancelled from elsewhere too: that one goes on
        if kind is asyncio.CancelledError:
            self.cancelled_caught = True
            return True
        return False  # the block ended on its own before the cancellation reached it
