"""A backend's answer never overtakes the progress it sent before it (seen flaky over SSE).

The SDK hands each progress notification to its own task, so the gateway waits for relays
already under way before it returns the result.
"""

from __future__ import annotations

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from gateway.dispatch.progress import ProgressRelay as _Relayed

pytestmark = pytest.mark.asyncio


async def test_the_result_waits_for_a_progress_relay_still_being_written() -> None:
    written = anyio.Event()
    seen: list[float] = []
    settled = False

    async def relay(progress: float, total: float | None, message: str | None) -> None:
        await written.wait()
        seen.append(progress)

    relayed = _Relayed(relay)
    assert relayed.progress is not None

    async def settle() -> None:
        nonlocal settled
        await relayed.settled()
        settled = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(relayed.progress, 1.0, None, None)
        await wait_all_tasks_blocked()
        tg.start_soon(settle)
        await wait_all_tasks_blocked()
        assert not settled and seen == []
        written.set()
    assert settled and seen == [1.0]


async def test_settling_without_progress_returns_at_once() -> None:
    relayed = _Relayed(None)
    assert relayed.progress is None
    with anyio.fail_after(1):
        await relayed.settled()
