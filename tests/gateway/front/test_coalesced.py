"""`Coalesced`: what a response writes in one turn of the event loop leaves in one write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.front.connections import Coalesced

pytestmark = pytest.mark.asyncio


class Recording:
    """A transport that records its writes and whether it was closed or aborted."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def coalesced() -> tuple[Coalesced, Recording]:
    inner = Recording()
    return Coalesced(inner, asyncio.get_running_loop()), inner  # type: ignore[arg-type]


async def test_a_head_and_body_written_in_one_turn_leave_in_one_write_in_order() -> None:
    transport, inner = coalesced()
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert inner.writes == [], "held until the turn ends"
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]


async def test_a_flush_writes_at_once() -> None:
    transport, inner = coalesced()
    transport.write(b"head")
    transport.write(b"body")
    transport.flush()  # the response ended
    assert inner.writes == [b"headbody"]
    await asyncio.sleep(0)
    assert inner.writes == [b"headbody"], "nothing written twice"


async def test_writes_of_later_turns_are_their_own() -> None:
    transport, inner = coalesced()
    transport.write(b"event 1")
    await asyncio.sleep(0)
    transport.write(b"event 2")
    await asyncio.sleep(0)
    assert inner.writes == [b"event 1", b"event 2"]


async def test_closing_writes_what_is_held_first_and_abort_drops_it() -> None:
    transport, inner = coalesced()
    transport.write(b"last words")
    transport.close()
    assert inner.writes == [b"last words"] and inner.closed
    await asyncio.sleep(0)
    assert inner.writes == [b"last words"], "nothing written twice"

    transport, inner = coalesced()
    transport.write(b"dropped")
    transport.abort()
    await asyncio.sleep(0)
    assert inner.writes == [] and inner.aborted


async def test_everything_else_is_the_transport_own() -> None:
    transport, inner = coalesced()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    inner.closed = True
    assert transport.is_closing()
