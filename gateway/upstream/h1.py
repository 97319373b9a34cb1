"""A small HTTP/1.1 client for the hot hop: keep-alive connections as asyncio protocols, parsed by httptools.

The backend hop sends one POST per request and reads its answer as it streams. A general client
(aiohttp, httpx) builds request objects, header multidicts, cookie jars, timers, tracing hooks
and a writer task for each POST, which cost more CPU per call than the rest of the hop. `Pool`
does only what this hop needs: the request head written in one piece (the fixed headers encoded
once), the answer parsed by `httptools` (llhttp, the parser uvicorn serves with) straight into a
`Response` whose body is read as it arrives, with flow control toward the backend.

What it keeps of a production client: at most `limit` connections, reused while the server keeps
them alive and closed after `IDLE_SECONDS` unused (before the 5 s after which uvicorn and Node
close an idle connection, so a request is never written into one the server is closing); a
connect deadline; TLS with the given context and the host's name verified; every connection
opened to the address `resolve` returns for the host (the egress allowlist); header names and
values checked (no line breaks smuggled into the head); an answer's head capped at
`MAX_HEAD_BYTES`; gzip and deflate bodies decoded though none is asked for; a connection whose
answer was not read to its end closed, never reused, unless its reader says the rest may come
on its own (`Response.settle_after`: a stream whose answer is in, whose end the caller need not
wait for), in which case the connection goes back to the pool once it ends.

Failures: `NotSent` when nothing reached the server (no connection, or one found closed before
writing), `Broken` when the connection failed after the request was written (it may have run).
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import cast
from urllib.parse import urlsplit

import httptools

from gateway.upstream.h1response import HIGH_WATER, MAX_HEAD_BYTES, Broken, NotSent, Response

IDLE_SECONDS = 4.0
"""How long an unused keep-alive connection is kept: below the 5 s uvicorn and Node allow."""
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\0]")

Resolve = Callable[[str, int], Awaitable[str]]

__all__ = [
    "HIGH_WATER",
    "IDLE_SECONDS",
    "MAX_HEAD_BYTES",
    "Broken",
    "NotSent",
    "Pool",
    "Response",
    "encode_headers",
]


def encode_headers(headers: Mapping[str, str]) -> bytes:
    """`name: value` lines for a request head; refuses a name or value that could split it."""
    lines = []
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise ValueError(f"header {name!r} has a character a request head cannot carry")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses its answer into a `Response`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._response: Response | None = None
        self._paused = False
        self.reusable = False
        self.closed = False
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        response = self._response
        if response is None or response.complete:
            self.close()  # nothing was asked: a server that talks out of turn is not reused
            return
        try:
            self._parser.feed_data(data)
        except Exception as error:  # a callback's own failure, or not HTTP/1.1 at all
            cause = error.__context__ if isinstance(error.__context__, Broken) else error
            response._failed(
                cause if isinstance(cause, Broken) else Broken(f"the answer is not valid HTTP/1.1 ({error})")
            )
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        response = self._response
        if response is None or response.complete:
            return
        if response._head.done() and _ends_at_close(response):
            response._finished()
        else:
            response._failed(Broken("the connection closed before the answer ended"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._response is not None
        self._response._header(name, value)

    def on_headers_complete(self) -> None:
        assert self._response is not None
        if self._response.complete:
            raise Broken("the server sent a second answer")
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer: the real one follows
            self._response.headers.clear()
            return
        self._response._started(status)

    def on_body(self, body: bytes) -> None:
        assert self._response is not None
        self._response._body(body)

    def on_message_complete(self) -> None:
        response = self._response
        assert response is not None
        if response.status == 0:
            return  # the end of an interim answer
        self.reusable = self._parser.should_keep_alive()
        response._finished()

    # the pool's side
    def send(self, data: bytes) -> Response:
        transport = self._transport
        if self.closed or transport is None or transport.is_closing():
            raise NotSent("the connection was closed")
        self._response = response = Response(self, self.loop)
        self.reusable = False
        transport.write(data)
        return response

    def pause(self) -> None:
        if not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self._transport is not None and not self.closed:
            self._paused = False
            self._transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self._transport is not None:
            self._transport.close()


def _ends_at_close(response: Response) -> bool:
    """An answer with neither a length nor chunks ends when its connection does."""
    headers = response.headers
    return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "")


class Pool:
    """Keep-alive connections to one URL's origin; `post` sends to the URL's path."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        limit: int,
        connect_timeout: float,
        ssl_context: ssl.SSLContext,
        resolve: Resolve,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        self._host = parts.hostname
        self._tls = ssl_context if parts.scheme == "https" else None
        self._port = parts.port or (443 if self._tls else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        authority = f"[{self._host}]" if ":" in self._host else self._host
        if parts.port is not None:
            authority += f":{parts.port}"
        self._fixed = {name.lower() for name in headers}
        self._start = f"POST {target} HTTP/1.1\r\nhost: {authority}\r\n".encode()
        self._head = self._start + encode_headers(headers)
        self._defaults = dict(headers)
        self._connect_timeout = connect_timeout
        self._resolve = resolve
        self._clock = clock
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []
        self.loop = asyncio.get_running_loop()
        """The loop the pool serves on (it is made on it)."""

    def post(self, body: bytes, headers: Mapping[str, str]) -> _Post:
        """Send `body` with `headers` (over the fixed ones); yields the answer once its head is in.

        Raises `ValueError` at once for a header the request head cannot carry.
        """
        return _Post(self, b"%bcontent-length: %d\r\n\r\n%b" % (self._request_head(headers), len(body), body))

    def _release(self, connection: _Connection) -> None:
        if connection.reusable and not connection.closed:
            connection.idle_since = self._clock()
            self._idle.append(connection)
        else:
            connection.close()

    def _settle(self, connection: _Connection, response: Response) -> None:
        """Keep the connection (and its slot) until its answer ends, then pool it; give it up
        after `response.settle_after`."""

        def ended() -> None:
            timer.cancel()
            self._release(connection)
            self._slots.release()

        def give_up() -> None:
            response._on_end = None
            connection.close()
            self._slots.release()

        timer = connection.loop.call_later(response.settle_after, give_up)
        response._settle(ended)

    def _request_head(self, headers: Mapping[str, str]) -> bytes:
        names = {name.lower() for name in headers}
        if self._fixed.isdisjoint(names):
            return self._head + encode_headers(headers)
        kept = {name: value for name, value in self._defaults.items() if name.lower() not in names}
        return self._start + encode_headers(kept) + encode_headers(headers)  # the request's own win

    def _take_idle(self) -> _Connection | None:
        now = self._clock()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _open(self) -> _Connection:
        loop = self.loop
        try:
            async with asyncio.timeout(self._connect_timeout):
                address = await self._resolve(self._host, self._port)
                _, connection = await loop.create_connection(
                    functools.partial(_Connection, loop),
                    address,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._host if self._tls else None,
                )
        except TimeoutError:
            raise NotSent(f"no connection within {self._connect_timeout:g}s") from None
        except OSError as error:
            raise NotSent(f"no connection ({error.strerror or type(error).__name__})") from None
        return connection

    def close(self) -> None:
        """Close every idle connection (those in use close as their answers end)."""
        while self._idle:
            self._idle.pop().close()


class _Post:
    """`async with pool.post(...) as response`: a slot and a connection for one request, its
    answer once the head is in; at the end the connection goes back to the pool, or settles
    (`Response.settle_after`), or closes. A class, not a generator: it runs on every call."""

    __slots__ = ("_connection", "_pool", "_request", "_response")

    def __init__(self, pool: Pool, request: bytes) -> None:
        self._pool = pool
        self._request = request
        self._connection: _Connection | None = None
        self._response: Response | None = None

    async def __aenter__(self) -> Response:
        pool = self._pool
        await pool._slots.acquire()
        try:
            connection = pool._take_idle()
            try:
                response = connection.send(self._request) if connection else None
            except NotSent:  # closed as it was taken: a new one
                response = None
            if connection is None or response is None:
                connection = await pool._open()
                response = connection.send(self._request)
        except BaseException:
            pool._slots.release()
            raise
        self._connection, self._response = connection, response
        try:
            await response._head
        except BaseException:
            self._end()
            raise
        return response

    async def __aexit__(self, *exc_info: object) -> None:
        self._end()

    def _end(self) -> None:
        pool, connection, response = self._pool, self._connection, self._response
        assert connection is not None and response is not None
        settling = False
        try:
            if response.complete:
                pool._release(connection)
            elif response.settle_after > 0 and not connection.closed and response._error is None:
                settling = True  # the reader has its answer: the rest arrives on its own time
                pool._settle(connection, response)
            else:
                connection.close()
        finally:
            if not settling:
                pool._slots.release()
