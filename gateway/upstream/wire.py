"""The hot hop to a streamable-HTTP backend: one POST per request, its answer read as it streams.

The MCP SDK's client sends a request through a dispatcher, memory streams and a task per POST,
over httpx; that machinery cost more CPU per call than everything else the gateway does. A
`Wire` sends the request's JSON-RPC bytes itself, on a keep-alive connection from one pool per
backend (`gateway.upstream.h1`, made for this hop only: httpx2 serves everything off the hot
path), and reads
the answer as the backend writes it, JSON or a stream of server-sent events. The SDK session
still opens the session (the handshake, and for a handshake-era session the id and the standalone
GET stream) and still stamps each request, so what goes on the wire is what the SDK would send.

What arrives on a request's stream before its answer goes where it belongs (`Exchange`): progress
to the request's progress callback, log messages and other notifications to the session, and a
backend's own request (sampling, elicitation, roots) to the session's caller, whose answer is
POSTed back. Failures are told apart as the observing transport tells them
(`gateway.resilience.observe`): never sent, refused (429/503, with Retry-After), a session the
backend no longer knows (404), or an answer that may have run and did not arrive.

Every connection goes to an address the egress allowlist accepted when it opened (`resolve`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from gateway.egress import Egress, EgressError
from gateway.errors import (
    BackendError,
    BackendProtocolError,
    BackendRejected,
    BackendSessionLost,
    BackendUnavailable,
    InvalidParams,
)
from gateway.resilience.observe import retry_after_seconds
from gateway.upstream.h1 import NotSent, Pool, Response
from gateway.upstream.http import USER_AGENT, shared_ssl_context

MAX_EVENT_BYTES = 64 * 1024 * 1024
"""One server-sent event (one JSON-RPC message) read from a backend at most."""
DRAIN_SECONDS = 1.0
"""How long the end of a stream whose answer arrived may take before its connection is dropped."""


Message = dict[str, Any]
OnMessage = Callable[[Message], Awaitable[None]]


class Wire:
    """One backend's raw HTTP hop: its URL, its own credentials, one keep-alive pool."""

    def __init__(
        self,
        backend: str,
        url: str,
        *,
        headers: Mapping[str, str],
        egress: Egress,
        connections: int,
        connect_timeout: float,
    ) -> None:
        self.backend = backend
        self.url = url
        self._headers = {
            "user-agent": USER_AGENT,
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            **headers,
        }
        self._egress = egress
        self._connections = connections
        self._connect_timeout = connect_timeout
        self._http: Pool | None = None

    async def start(self) -> None:
        self._http = Pool(
            self.url,
            headers=self._headers,
            limit=self._connections,
            connect_timeout=self._connect_timeout,
            ssl_context=shared_ssl_context(),
            resolve=self._resolve,
        )

    async def _resolve(self, host: str, port: int) -> str:
        try:
            return await self._egress.resolve(host, port)
        except EgressError as error:
            raise OSError(f"egress refused: {error}") from None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the wire serves on (once started)."""
        return self._http.loop if self._http is not None else asyncio.get_running_loop()

    async def aclose(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    async def send(self, message: Message, headers: Mapping[str, str]) -> None:
        """POST a message that needs no answer (a notification, an answer to the backend's own
        request); best effort: a failure is the backend's to notice."""
        try:
            async with self._post(orjson.dumps(message), headers) as response:
                await response.read()
        except (OSError, TimeoutError, ValueError, BackendUnavailable):
            return

    def exchange(self, body: bytes, headers: Mapping[str, str], *, in_session: bool) -> _Exchange:
        """POST one request; `async with` yields the messages of its answer as they arrive.

        Raises `BackendUnavailable` (nothing was sent: no connection, or a session the backend
        no longer knows), `BackendRejected` (429/503),
        `BackendSessionLost` (502/504, or the connection broke: it may have run), a JSON-RPC
        error answered with an HTTP error status as a message, or `BackendProtocolError`.
        """
        try:
            post = self._post(body, headers)
        except ValueError as error:  # nothing was sent: a header that would split the request head
            raise InvalidParams(f"cannot be sent to {self.backend}: {error}") from None
        return _Exchange(self.backend, post, in_session)

    def _post(self, body: bytes, headers: Mapping[str, str]) -> AbstractAsyncContextManager[Response]:
        http = self._http
        if http is None:
            raise BackendUnavailable(self.backend, "not started")
        return http.post(body, headers)


class _Exchange:
    """`Wire.exchange` as a class (it runs on every call): the answer's messages, and the
    transport's failures told apart, whether they come as the answer starts or while it is read."""

    __slots__ = ("_backend", "_in_session", "_post", "_response", "_streamed")

    def __init__(self, backend: str, post: AbstractAsyncContextManager[Response], in_session: bool) -> None:
        self._backend = backend
        self._post = post
        self._in_session = in_session
        self._response: Response | None = None
        self._streamed = False

    async def __aenter__(self) -> AsyncIterator[Message]:
        try:
            response = self._response = await self._post.__aenter__()
            try:
                return await self._messages(response)
            except BaseException as error:
                await self._post.__aexit__(type(error), error, error.__traceback__)
                raise
        except OSError as error:  # the transport's (`NotSent`, `Broken`)
            raise _translated(self._backend, error) from None

    async def _messages(self, response: Response) -> AsyncIterator[Message]:
        backend = self._backend
        failure = _failure(backend, response.status, response.headers, in_session=self._in_session)
        if failure is not None:
            explained = isinstance(failure, BackendProtocolError)  # not refused, lost or broken
            message = _json_rpc_error(await response.read()) if explained else None
            if message is None:
                raise failure
            return _Single(message)  # a refusal the backend explained (a bad header, say)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            self._streamed = True
            return _Events(backend, response.chunks())
        return _Single(_decode(backend, await response.read()))

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Any
    ) -> None:
        if kind is None and self._streamed and self._response is not None:
            # the answer is in: the stream's end may follow on its own, the connection pooled
            # once it has (given up after DRAIN_SECONDS); the answer waits for none
            self._response.settle_after = DRAIN_SECONDS
        try:
            await self._post.__aexit__(kind, error, trace)
        except OSError as failed:
            raise _translated(self._backend, failed) from None
        if isinstance(error, OSError):  # the answer broke while it was read
            raise _translated(self._backend, error) from None


def _translated(backend: str, error: OSError) -> BackendError:
    """The transport's failure as the gateway names it: nothing sent, or no usable answer."""
    if isinstance(error, NotSent):
        return BackendUnavailable(backend, f"not sent: {error}")
    return BackendSessionLost(backend, f"no usable answer: {error}")


def _failure(
    backend: str, status: int, headers: Mapping[str, str], *, in_session: bool
) -> BackendError | None:
    if status < 300:
        return None
    if status == 404 and in_session:
        return BackendUnavailable(backend, "the backend no longer knows this session")
    if status in (429, 503):
        retry_after = retry_after_seconds(headers.get("retry-after"))
        after = f", retry after {retry_after:g}s" if retry_after is not None else ""
        return BackendRejected(
            backend, f"refused the request (HTTP {status}{after})", retry_after=retry_after
        )
    if status in (502, 504):
        return BackendSessionLost(backend, f"no usable answer (HTTP {status})")
    return BackendProtocolError(backend, f"answered HTTP {status}")  # its body may say more


def _json_rpc_error(body: bytes) -> Message | None:
    """A JSON-RPC error an HTTP error status carried (a 400 for a bad header, say), if any."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) and isinstance(message.get("error"), dict) else None


def _decode(backend: str, data: bytes | bytearray) -> Message:
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BackendProtocolError(backend, "answered something that is not JSON") from None
    if not isinstance(message, dict):
        raise BackendProtocolError(backend, "answered something that is not a JSON-RPC message")
    return message


class _Single:
    """An answer that is one JSON body, as a stream of that one message."""

    __slots__ = ("_message",)

    def __init__(self, message: Message) -> None:
        self._message: Message | None = message

    def __aiter__(self) -> _Single:
        return self

    async def __anext__(self) -> Message:
        message, self._message = self._message, None
        if message is None:
            raise StopAsyncIteration
        return message


class _Events:
    """The JSON-RPC messages of a server-sent event stream (`data:` lines, blank-line separated).

    A plain iterator, not an async generator (as `h1response._Chunks`): an answer's stream is
    left unfinished once its result is in, and an unfinished generator is handed to the event
    loop to close, besides its registration as it starts. Each event is decoded as it is taken,
    so a malformed one fails only when the reader gets to it."""

    __slots__ = ("_backend", "_buffer", "_content", "_data", "_ended", "_ready")

    def __init__(self, backend: str, content: AsyncIterator[bytes]) -> None:
        self._backend = backend
        self._content = content
        self._buffer = bytearray()
        self._data = bytearray()
        self._ready: deque[bytes | BackendProtocolError] = deque()
        self._ended = False

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> Message:
        ready = self._ready
        while not ready:
            if self._ended:
                raise StopAsyncIteration
            try:
                chunk = await self._content.__anext__()
            except StopAsyncIteration:
                self._ended = True
                if self._data:
                    ready.append(bytes(self._data))
                continue
            self._feed(chunk)
        event = ready.popleft()
        if isinstance(event, BackendProtocolError):
            raise event
        return _decode(self._backend, event)

    def _feed(self, chunk: bytes) -> None:
        """Queue the events `chunk` completes; a failure is queued after them, reading stopped."""
        buffer, backend = self._buffer, self._backend
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = bytes(buffer[start:end]).rstrip(b"\r")
            start = end + 1
            if not line:
                if self._data:
                    self._ready.append(bytes(self._data))
                    self._data = bytearray()
            elif line.startswith(b"data:"):
                if self._data:
                    self._data += b"\n"
                self._data += line[6:] if line.startswith(b"data: ") else line[5:]
                if len(self._data) > MAX_EVENT_BYTES:
                    return self._fail(
                        BackendProtocolError(backend, f"sent an event over {MAX_EVENT_BYTES} bytes")
                    )
        del buffer[:start]
        if len(buffer) > MAX_EVENT_BYTES:
            self._fail(BackendProtocolError(backend, f"sent a line over {MAX_EVENT_BYTES} bytes"))

    def _fail(self, error: BackendProtocolError) -> None:
        self._ready.append(error)
        self._ended = True
        self._data = bytearray()
