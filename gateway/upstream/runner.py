"""`BackendRunner`: one backend's life in a task of its own.

What a backend's start enters (a subprocess, an in-process server's lifespan, its task host)
must be left in the task that entered it. Hot reload stops and starts backends from whatever
task applies the new config, so each backend runs in a task of the gateway's host, which starts
it, waits for the word to stop, and stops it.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from gateway.tasks import TaskHost
    from gateway.upstream.backend import Backend


class BackendRunner:
    """Runs one backend in a task of its own, whoever asks it to stop."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._started = anyio.Event()
        self._stop = anyio.Event()
        self._done = anyio.Event()
        self._error: BaseException | None = None

    async def start(self, host: TaskHost) -> None:
        """Start the backend in `host`; raise what its start raised."""
        host.start_soon(self._run, name=f"run-{self.backend.name}")
        await self._started.wait()
        if self._error is not None:
            raise self._error

    async def _run(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                try:
                    await self.backend.start(stack)
                except Exception as error:
                    self._error = error
                    return
                finally:
                    self._started.set()
                await self._stop.wait()
        finally:
            self._started.set()
            self._done.set()

    async def stop(self) -> None:
        """Stop the backend and wait until everything it started has ended."""
        self._stop.set()
        with anyio.CancelScope(shield=True):
            await self._done.wait()
