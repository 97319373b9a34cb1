"""The backend hop's HTTP/1.1 client with event streams: the caller goes on once its answer is
in while the stream's end arrives on its own (and the connection is pooled then), and a body
left unfinished costs nothing to drop."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from gateway.upstream.h1 import Pool
from tests.gateway.upstream.h1server import connect, pool, serving

pytestmark = pytest.mark.asyncio


STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
EVENT = b"data: the answer\n\n"


async def test_a_stream_whose_answer_is_in_ends_on_its_own_and_its_connection_is_pooled() -> None:
    async with serving(lambda _: STREAM_HEAD + b"%x\r\n%b\r\n" % (len(EVENT), EVENT)) as server:
        server.tail = b"0\r\n\r\n"  # the stream's end, held back until released
        http = pool(server)
        async with http.post(b"{}", {}) as response:
            async for chunk in response.chunks():
                assert chunk == EVENT
                break
            response.settle_after = 30  # the reader has its answer
        assert not response.complete, "the caller went on without waiting for the end"
        server.release.set()


async def test_a_settled_connection_goes_back_to_the_pool_when_its_stream_ends() -> None:
    async with serving(lambda _: STREAM_HEAD + b"%x\r\n%b\r\n" % (len(EVENT), EVENT)) as server:
        server.tail = b"0\r\n\r\n"
        # one connection: the next request must wait for the settling one
        http = connect(f"http://127.0.0.1:{server.port}/mcp", limit=1)
        async with http.post(b"{}", {}) as response:
            await anext(aiter(response.chunks()))
            response.settle_after = 30
        second = asyncio.create_task(_read_all(http))
        await asyncio.sleep(0)
        assert len(server.requests) == 1, "the slot is the settling connection's until it ends"
        server.release.set()
        async with asyncio.timeout(5):
            assert await second == EVENT
    assert server.connections == 1, "the settled connection was reused"


async def test_a_stream_that_never_ends_is_given_up_after_its_time() -> None:
    async with serving(lambda _: STREAM_HEAD + b"%x\r\n%b\r\n" % (len(EVENT), EVENT)) as server:
        server.tail = b"0\r\n\r\n"  # never released
        async with pool(server).post(b"{}", {}) as response:
            await anext(aiter(response.chunks()))
            response.settle_after = 0.01
        async with asyncio.timeout(5):
            await server.closed.wait()  # the client closed it
        server.release.set()


async def test_a_stream_left_without_its_answer_is_closed_at_once() -> None:
    """A cancelled reader (a 2026-07-28 client giving up): closing the stream is the cancellation."""
    async with serving(lambda _: STREAM_HEAD) as server:
        server.tail = b"never"
        with pytest.raises(asyncio.CancelledError):
            async with pool(server).post(b"{}", {}) as response:
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await anext(aiter(response.chunks()))
        async with asyncio.timeout(5):
            await server.closed.wait()
        server.release.set()


async def _read_all(http: Pool) -> bytes:
    async with http.post(b"{}", {}) as response:
        return await response.read()


async def test_a_body_left_unfinished_leaves_nothing_for_the_event_loop_to_close() -> None:
    """The hop stops reading once it has its answer: an async generator left so would be handed
    to the event loop's finalizer on every call (a thread-safe wake-up and a task to close it)."""
    finalized: list[object] = []
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(hooks.firstiter, lambda gen: finalized.append(gen))
    try:
        async with serving(lambda _: STREAM_HEAD + b"%x\r\n%b\r\n" % (len(EVENT), EVENT)) as server:
            server.tail = b"0\r\n\r\n"
            async with pool(server).post(b"{}", {}) as response:
                async for chunk in response.chunks():
                    assert chunk == EVENT
                    break
                response.settle_after = 30
            del response
            gc.collect()
            server.release.set()
    finally:
        sys.set_asyncgen_hooks(*hooks)
    assert finalized == []
