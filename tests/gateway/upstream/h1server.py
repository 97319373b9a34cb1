"""A scripted HTTP/1.1 server on 127.0.0.1 for the backend hop's client tests (`test_h1*.py`):
it reads one request at a time and writes what the test's `reply` says, and can hold a
stream's end back until the test releases it."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from gateway.upstream.h1 import Pool

Reply = Callable[[bytes], bytes | None]
"""What the server writes for one request (its head and body); None closes the connection."""


class Server:
    """Reads one request at a time (head + content-length body), answers with `reply`."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0
        self.close_after_answer = False
        self.tail = b""
        """Written after `release` is set, once the answer has been (the end of a stream)."""
        self.release = asyncio.Event()
        self.closed = asyncio.Event()
        """Set when a client closes its connection."""
        self._arrived = asyncio.Event()

    async def until(self, count: int) -> None:
        """Wait until `count` requests have arrived."""
        while len(self.requests) < count:
            self._arrived.clear()
            await self._arrived.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                self._arrived.set()
                answer = self.reply(request)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.tail:  # hold the end back; the client may close meanwhile
                    eof = asyncio.ensure_future(reader.read(1))
                    released = asyncio.ensure_future(self.release.wait())
                    await asyncio.wait({eof, released}, return_when=asyncio.FIRST_COMPLETED)
                    released.cancel()
                    if eof.done():
                        raise ConnectionError("the client closed while the end was held")
                    eof.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await eof
                    writer.write(self.tail)
                    await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()
        except asyncio.CancelledError:
            pass  # the test ended
        finally:
            writer.close()


@asynccontextmanager
async def serving(reply: Reply, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(reply)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


async def loopback(host: str, port: int) -> str:
    return "127.0.0.1"


def pool(server: Server, clock: Callable[[], float] | None = None, **headers: str) -> Pool:
    return connect(
        f"http://localhost:{server.port}/mcp?x=1", headers={"user-agent": "t", **headers}, clock=clock
    )


def connect(
    url: str,
    *,
    limit: int = 4,
    headers: dict[str, str] | None = None,
    resolve: Callable[[str, int], Awaitable[str]] = loopback,
    tls: ssl.SSLContext | None = None,
    clock: Callable[[], float] | None = None,
) -> Pool:
    """A pool toward `url`, its names resolved to 127.0.0.1 unless `resolve` says otherwise."""
    extra = {"clock": clock} if clock else {}
    return Pool(
        url,
        headers=headers or {},
        limit=limit,
        connect_timeout=5,
        ssl_context=tls or ssl.create_default_context(),
        resolve=resolve,
        **extra,
    )


def fixed(body: bytes, *, status: int = 200, extra: bytes = b"") -> Reply:
    return lambda _: b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n%b\r\n%b" % (status, len(body), extra, body)
