"""The answer side of the hot hop's HTTP/1.1 client (`gateway.upstream.h1`): a `Response` whose
head the connection fills in and whose body is read as it arrives, with flow control toward the
server (reading pauses past `HIGH_WATER` unread bytes), and the client's two failures.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Protocol

MAX_HEAD_BYTES = 64 * 1024
"""An answer's status line and headers at most."""
HIGH_WATER = 1024 * 1024
"""Body bytes buffered before reading from the backend pauses until they are consumed."""


class NotSent(OSError):
    """Nothing reached the server: the request can safely be sent again."""


class Broken(OSError):
    """The request was written and no complete answer came back: it may have run."""


class Flow(Protocol):
    """What a response asks of its connection: stop reading, read again."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class Response:
    """One answer: its status and headers, then its body as it arrives."""

    def __init__(self, connection: Flow, loop: asyncio.AbstractEventLoop) -> None:
        self._connection = connection
        self._loop = loop
        self.status = 0
        self.headers: dict[str, str] = {}
        self.complete = False
        self._head_bytes = 0
        self._head = loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._on_end: Callable[[], None] | None = None
        self.settle_after = 0.0
        """Set by the reader once it has what it needs: how long the rest of the body may take
        to arrive, unread, before the connection is given up (0: closed at once)."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (decoded when the server compressed them)."""
        return _Chunks(self, _decoder(self.headers.get("content-encoding", "")))

    async def read(self) -> bytes:
        """The whole body."""
        if self.complete and "content-encoding" not in self.headers:  # all in already (the usual)
            body = b"".join(self._chunks)
            self._chunks.clear()
            self._buffered = 0
            self._connection.resume()  # a connection paused by this body is read again
            return body
        return b"".join([chunk async for chunk in self.chunks()])

    # the connection's side
    def _header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:
            raise Broken(f"the answer's head is over {MAX_HEAD_BYTES} bytes")
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def _started(self, status: int) -> None:
        self.status = status
        if not self._head.done():
            self._head.set_result(None)

    def _body(self, data: bytes) -> None:
        if self._on_end is not None:
            return  # settling: nobody reads the rest
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= HIGH_WATER:
            self._connection.pause()
        self._wake()

    def _finished(self) -> None:
        self.complete = True
        self._wake()
        self._ended()

    def _failed(self, error: BaseException) -> None:
        if not self._head.done():
            self._head.set_exception(error)
        self._error = error
        self._wake()
        self._ended()

    def _settle(self, on_end: Callable[[], None]) -> None:
        """Let the rest of the body arrive unread; `on_end` runs when it has (or failed)."""
        self._on_end = on_end
        self._chunks.clear()
        self._buffered = 0
        self._connection.resume()

    def _ended(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class _Chunks:
    """A response body's bytes as they arrive. A plain iterator, not an async generator: one left
    unfinished (the reader has its answer) is simply dropped, where a generator would be handed
    to the event loop to be closed, a thread-safe wake-up and a task on every call."""

    def __init__(self, response: Response, decoder: zlib._Decompress | None) -> None:
        self._response = response
        self._decoder = decoder
        self._done = False

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        response = self._response
        decoder = self._decoder
        while not self._done:
            if response._chunks:
                chunk = response._chunks.popleft()
                response._buffered -= len(chunk)
                if response._buffered < HIGH_WATER:
                    response._connection.resume()
                return decoder.decompress(chunk) if decoder is not None else chunk
            if response.complete:
                self._done = True
                if decoder is not None and (tail := decoder.flush()):
                    return tail
                break
            if response._error is not None:
                raise response._error
            waiter = response._waiter = response._loop.create_future()
            try:
                await waiter
            finally:
                response._waiter = None
        raise StopAsyncIteration


def _decoder(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(wbits=zlib.MAX_WBITS)
    raise Broken(f"the answer is encoded as {encoding!r}, which was not asked for")
