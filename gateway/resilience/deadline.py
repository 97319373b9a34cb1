"""`Deadline`: `asyncio.timeout` for a block whose event loop is already at hand.

The hop and the front each put a deadline on every request. `asyncio.timeout` finds the loop and
the task itself, and on Python 3.11 every lookup of the running loop is a `getpid` system call
(three per deadline, two deadlines per call). A `Deadline` is given the loop (the connection's,
the pool's) and does the rest as `asyncio.timeout` does: the block's task is cancelled when the
time is up, that cancellation alone is taken back (`Task.uncancel`) and surfaces as
`TimeoutError`; a cancellation from anywhere else goes on as it came.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Deadline:
    """`with Deadline(seconds, loop): ...` raises `TimeoutError` if the block runs past `seconds`.

    Entered from a task running on `loop`; the block must await for the deadline to reach it
    (as with any asyncio cancellation).
    """

    __slots__ = ("_cancelling", "_expired", "_handle", "_loop", "_seconds", "_task")

    def __init__(self, seconds: float, loop: asyncio.AbstractEventLoop) -> None:
        self._seconds = seconds
        self._loop = loop
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._expired = False
        self._cancelling = 0

    def __enter__(self) -> Deadline:
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("a Deadline is entered from a task running on its loop")
        self._task = task
        self._cancelling = task.cancelling()
        self._handle = self._loop.call_at(self._loop.time() + self._seconds, self._expire)
        return self

    def _expire(self) -> None:
        self._handle = None
        if self._task is not None:
            self._expired = True
            self._task.cancel()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        task, self._task = self._task, None
        # our cancellation is taken back first; the block's ending is ours only if it was the last
        expired = self._expired and task is not None and task.uncancel() <= self._cancelling
        if expired and kind is asyncio.CancelledError:
            raise TimeoutError from error
