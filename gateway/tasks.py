"""`TaskHost`: a task group that lives in a task of its own.

Backend sessions and background work need a task group that outlives any single request.
FastMCP closes a server's lifespan inside a shielded cancel scope, so a task group entered in
the lifespan cannot be left there (anyio requires scopes to close in the order they opened).
The host runs the task group in its own task and closes it from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.abc


class TaskHost:
    """Spawns tasks into a task group owned by a dedicated task."""

    def __init__(self, name: str = "gateway-tasks") -> None:
        self._name = name
        self._group: anyio.abc.TaskGroup | None = None
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the hosting task and wait until it can take work."""
        self._task = asyncio.create_task(self._run(), name=self._name)
        await self._ready.wait()

    async def _run(self) -> None:
        async with anyio.create_task_group() as group:
            self._group = group
            self._ready.set()
            await self._stop.wait()
            group.cancel_scope.cancel()
        self._group = None

    def start_soon(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, name: str | None = None
    ) -> None:
        """Run `fn(*args)` in the host's task group."""
        if self._group is None:
            raise RuntimeError("task host is not running")
        self._group.start_soon(fn, *args, name=name)

    @property
    def running(self) -> bool:
        """Whether the host accepts work."""
        return self._group is not None and not self._stop.is_set()

    async def aclose(self) -> None:
        """Cancel every hosted task and wait for the host to end."""
        self._stop.set()
        if self._task is not None:
            with anyio.CancelScope(shield=True):
                await self._task
