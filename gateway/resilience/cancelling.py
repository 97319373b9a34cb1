"""Cancel scopes on asyncio's own cancellation: `Abandonable` (cancelled on request) and
`Deadline` (cancelled when its time is up), given the event loop they run on.

What an `anyio.CancelScope` or `asyncio.timeout` would do, for a loop already at hand: on Python
3.11 every lookup of the running loop is a `getpid` system call, and the fast path enters both
on every call. `cancel` cancels the block's task, once, and only while the block runs;
`__exit__` takes back that cancellation alone (`Task.uncancel`, as `asyncio.timeout` does) and
notes it was caught. A cancellation from anywhere else (the server stopping) goes on as it came.
A `Deadline` is an `Abandonable` that cancels itself when its time is up, and then ends in
`TimeoutError`.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Literal


class Abandonable:
    """`with Abandonable(loop) as call: ...`; `call.cancel()` from a callback abandons the block."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._task = asyncio.current_task(loop)  # given the loop, no lookup (a system call on 3.11)
        self._open = False
        self._requested = False
        self._cancelling = 0
        self.cancelled_caught = False

    def __enter__(self) -> Abandonable:
        self._open = True
        if self._task is not None:
            self._cancelling = self._task.cancelling()
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
        if self._task.uncancel() > self._cancelling:
            return False  # cancelled from elsewhere too: that one goes on
        if kind is asyncio.CancelledError:
            self.cancelled_caught = True
            return True
        return False  # the block ended on its own before the cancellation reached it


class Deadline(Abandonable):
    """`with Deadline(seconds, loop): ...` raises `TimeoutError` if the block runs past `seconds`
    (entered from a task running on `loop`; the block must await for the deadline to reach it)."""

    def __init__(self, seconds: float, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._seconds = seconds
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None

    def __enter__(self) -> Deadline:
        if self._task is None:
            raise RuntimeError("a Deadline is entered from a task running on its loop")
        super().__enter__()
        self._handle = self._loop.call_at(self._loop.time() + self._seconds, self.cancel)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> Literal[False]:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if super().__exit__(kind, error, trace):
            raise TimeoutError from error
        return False
