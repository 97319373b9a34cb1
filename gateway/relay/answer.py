"""`Answer`: the HTTP response to one fast-path request.

A request is answered with plain JSON unless something is sent before its result (progress, a
log line), in which case a server-sent event stream starts with it: the framing the SDK's
server gives a 2026-07-28 request, and the one the front gives the SDK server's handshake-era
answers too (`gateway.front.framing` says why), so both paths answer alike, byte for byte.
Headers are the SDK's: the stream's cache and buffering headers, and the session id on a
handshake-era session's answers (JSON or stream). A 2026-07-28 error answered as JSON has the
HTTP status the SDK's table gives its code (400 for invalid params, 404 for an unknown method);
anything else is 200, as the SDK answers it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS
from starlette.types import Send

STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]


_BLANK_LINE = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\n|\r")


def event(message: dict[str, Any]) -> bytes:
    """One JSON-RPC message as a server-sent event."""
    return _framed(orjson.dumps(message))


def _framed(payload: bytes) -> bytes:
    return b"event: message\r\ndata: " + payload + b"\r\n\r\n"


def events_of(stream: bytes) -> tuple[list[bytes | None], bytes]:
    """The data of each complete event of a server-sent event stream (None for an event with
    anything but its data: an id, a retry, a comment), and what follows the last one."""
    *complete, rest = _BLANK_LINE.split(stream)
    return [_data_of(event) for event in complete if event], rest


def _data_of(event: bytes) -> bytes | None:
    data: list[bytes] = []
    for line in _LINE.split(event):
        if line.startswith(b"data:"):
            data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif line not in (b"event: message", b"event:message"):
            return None
    return b"\n".join(data) if data else None


class Answer:
    """Writes one request's response: messages before the result, then the result."""

    def __init__(self, send: Send, *, session_id: str | None, modern: bool = False) -> None:
        self._send = send
        self._session_id = session_id
        self._modern = modern
        self._started = False
        self.finished = False

    @property
    def started(self) -> bool:
        """Whether anything of the response has been sent."""
        return self._started

    async def notify(self, message: dict[str, Any]) -> None:
        """Send a message before the result (the response becomes a stream)."""
        await self._start_stream()
        await self._send({"type": "http.response.body", "body": event(message), "more_body": True})

    async def finish(self, message: dict[str, Any] | None) -> None:
        """Send the result (or nothing: an abandoned request's stream ends empty) and end the
        response."""
        status = 200
        if self._modern and message is not None and isinstance(error := message.get("error"), dict):
            status = ERROR_CODE_HTTP_STATUS.get(error.get("code"), 200)  # type: ignore[arg-type]
        await self.finish_encoded(orjson.dumps(message) if message is not None else None, status=status)

    async def finish_encoded(self, payload: bytes | None, *, status: int = 200) -> None:
        """`finish` with the message already encoded (as `orjson.dumps` encodes it), and the
        status of its response if it goes out as JSON."""
        if self.finished:
            return
        self.finished = True
        # nothing at all (abandoned): a stream that ends empty, as the SDK's server ends it; an
        # empty JSON body would be one the client cannot parse
        if self._started or payload is None:
            await self._start_stream()
            body = _framed(payload) if payload is not None else b""
            await self._send({"type": "http.response.body", "body": body, "more_body": False})
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await self._send({"type": "http.response.start", "status": status, "headers": self._own(headers)})
        await self._send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _start_stream(self) -> None:
        if self._started:
            return
        self._started = True
        await self._send({"type": "http.response.start", "status": 200, "headers": self._own(STREAM_HEADERS)})

    def _own(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        if self._session_id is None:
            return headers
        return [*headers, (b"mcp-session-id", self._session_id.encode("latin-1"))]
