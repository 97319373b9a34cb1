"""`Abandonable`: the fast path's cancel scope on asyncio's own cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.resilience.cancelling import Abandonable

pytestmark = pytest.mark.asyncio


async def test_a_cancel_from_a_callback_ends_the_block_and_is_caught() -> None:
    reached = []
    with Abandonable() as call:
        asyncio.get_running_loop().call_soon(call.cancel)
        await asyncio.Event().wait()  # only the cancellation ends this
        reached.append("after")
    assert call.cancelled_caught and reached == []
    await asyncio.sleep(0)  # the task goes on: nothing of the cancellation is left pending
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancel_after_the_block_does_nothing() -> None:
    with Abandonable() as call:
        await asyncio.sleep(0)
    call.cancel()
    await asyncio.sleep(0)
    assert not call.cancelled_caught


async def test_a_cancellation_from_elsewhere_goes_on() -> None:
    entered = asyncio.Event()
    seen: list[Abandonable] = []

    async def serve() -> None:
        with Abandonable() as call:
            seen.append(call)
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(serve())
    await entered.wait()
    task.cancel()  # the server stopping, say
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not seen[0].cancelled_caught


async def test_both_cancellations_at_once_the_outer_one_goes_on() -> None:
    entered = asyncio.Event()

    async def serve() -> None:
        with Abandonable() as call:
            entered.set()
            try:
                await asyncio.Event().wait()
            finally:
                call.cancel()  # too late to be the only one

    task = asyncio.create_task(serve())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_block_that_swallows_the_cancellation_ends_normally() -> None:
    with Abandonable() as call:
        asyncio.get_running_loop().call_soon(call.cancel)
        with contextlib.suppress(asyncio.CancelledError):  # inner code made its own answer of it
            await asyncio.Event().wait()
    assert not call.cancelled_caught
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
