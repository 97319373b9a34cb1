"""`Deadline`: `asyncio.timeout` given its loop. A block past its time ends in `TimeoutError`; a
block in time is left alone afterwards; a cancellation from elsewhere goes on as it came."""

from __future__ import annotations

import asyncio

import pytest

from gateway.resilience.cancelling import Deadline

pytestmark = pytest.mark.asyncio


async def test_a_block_past_its_time_ends_in_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError), Deadline(0, loop):
        await asyncio.Event().wait()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0, "the deadline took its cancellation back"


async def test_a_block_in_time_is_not_cancelled_later() -> None:
    loop = asyncio.get_running_loop()
    with Deadline(0.001, loop):
        await asyncio.sleep(0)
    later = loop.create_future()
    loop.call_later(0.01, later.set_result, None)
    await later  # past the deadline's time: its timer was cancelled with the block
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_cancellation_from_elsewhere_goes_on() -> None:
    loop = asyncio.get_running_loop()
    entered = asyncio.Event()

    async def block() -> None:
        with Deadline(60, loop):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(block())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_expired_deadline_and_a_cancellation_from_elsewhere_is_a_cancellation() -> None:
    loop = asyncio.get_running_loop()
    entered = asyncio.Event()

    async def block() -> None:
        with Deadline(0, loop):
            entered.set()
            asyncio.current_task().cancel()  # type: ignore[union-attr]  # someone else's, at once
            await asyncio.Event().wait()

    task = asyncio.ensure_future(block())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert entered.is_set()


async def test_a_deadline_needs_a_task_on_its_loop() -> None:
    loop = asyncio.new_event_loop()  # not the one this test runs on
    try:
        with pytest.raises(RuntimeError, match="task"), Deadline(1, loop):
            pass
    finally:
        loop.close()
