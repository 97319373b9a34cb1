"""Connections at the HTTP front: how long a request's headers may take, and how many at once.

uvicorn has a keep-alive timeout but none for a request's headers, so a client sending one
header line every few seconds holds its connection forever (a "slowloris"). The protocol made
here closes a connection whose request headers are not complete within `header_timeout` of it
opening, or of its previous response ending. How many connections and requests may be open at
once is uvicorn's `limit_concurrency` (past it, requests get 503).

What a response writes in one turn of the event loop goes out in one write (`Coalesced`):
uvicorn writes a response's head as it is started and its body as it is sent, two system calls
(and two wake-ups of the client) where one does; a response whose head and body are sent
together now costs one, written as the response ends.

It also tells a request in progress that its client went away: callbacks the request puts in
its scope's `ON_DISCONNECT_KEY` list run when the connection is lost (the fast path cancels its
call so, without a task per request watching the connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from gateway.scopekeys import LOOP_KEY, ON_DISCONNECT_KEY

ASGI = Callable[[Any, Any, Any], Awaitable[None]]


class Coalesced:
    """A transport whose writes within one turn of the event loop are written together at its
    end (in order); everything else is the transport's own. Closing writes what is held first."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._pending: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        if not self._held:
            self._pending = self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        """Write what is held now (a flush still pending for the turn's end is dropped)."""
        self._drop_pending()
        held, self._held = self._held, []
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._drop_pending()
        self._held = []
        self._transport.abort()

    def _drop_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def protocol_with_header_deadline(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, closing connections whose request headers are too slow."""
    base: Any = AutoHTTPProtocol

    class HeaderDeadline(base):  # type: ignore[misc]
        _timer: asyncio.TimerHandle | None = None
        _waiting_since: float | None = None
        """When the connection began waiting for a request's headers; None while one runs."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(Coalesced(transport, self.loop))  # type: ignore[arg-type]
            inner: ASGI = getattr(self, "app")  # noqa: B009 - set by the base protocol
            self._requests: dict[int, list[Callable[[], object]]] = {}
            """The requests in progress, each with its disconnect callbacks (uvicorn starts the
            next request on a connection once a response is sent, before its task has ended)."""

            async def app(scope: Any, receive: Any, send: Any) -> None:
                self._waiting_since = None  # the headers are in: the request is the app's now
                callbacks: list[Callable[[], object]] = []
                scope[ON_DISCONNECT_KEY] = callbacks
                scope[LOOP_KEY] = self.loop
                self._requests[id(callbacks)] = callbacks
                try:
                    await inner(scope, receive, send)
                finally:
                    self._requests.pop(id(callbacks), None)
                    if not self._requests and not self.transport.is_closing():
                        self._arm()  # the next request on this connection gets the same deadline

            self.app = app
            self._arm()

        def on_response_complete(self) -> None:
            self.transport.flush()  # a response's end goes out now, not at the end of the turn
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiting_since = None
            requests, self._requests = self._requests, {}
            for callbacks in requests.values():  # the requests in progress learn their client went away
                for callback in callbacks:
                    callback()
            super().connection_lost(exc)

        def _arm(self) -> None:
            """Start waiting for headers. One timer per connection at a time, not one per
            request: a timer that fires early (set for an earlier wait) sets itself again."""
            self._waiting_since = self.loop.time()
            if self._timer is None:
                self._timer = self.loop.call_at(self._waiting_since + header_timeout, self._check)

        def _check(self) -> None:
            self._timer = None
            since = self._waiting_since
            if since is None:
                return  # a request runs: its end arms the deadline again
            due = since + header_timeout
            if self.loop.time() < due:
                self._timer = self.loop.call_at(due, self._check)
                return
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.close()

    return HeaderDeadline
