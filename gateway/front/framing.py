"""`json_when_single`: a handshake-era answer that is one message, sent as plain JSON.

The SDK's server answers every handshake-era (2025-11-25) POST with a server-sent event stream,
even when the stream carries the answer alone. A client reading a stream stops once it has its
answer, before the stream's end, and the Python SDK's HTTP client then closes the connection: a
new TCP connection for every request. The specification lets a server answer a POST either way
and requires clients to read both, and the SDK itself answers a 2026-07-28 request with plain
JSON unless something comes before the result. The front does the same for the handshake era:
a stream is held back until its first event; one that is the answer, with the stream ending
after it, goes out as JSON (the same bytes as the event's data); anything else (a notification
or a request before the answer, an event id, a comment) lets the stream go out as it came, from
its start. The fast path (`gateway.relay.answer`) frames its own answers this way already.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Message, Send

from gateway.relay.answer import events_of

SSE_ONLY = frozenset(
    {
        b"content-type",
        b"content-length",
        b"transfer-encoding",
        b"cache-control",
        b"connection",
        b"x-accel-buffering",
    }
)
"""Headers of the stream itself, replaced by the JSON answer's own."""


def json_when_single(send: Send) -> Send:
    """`send`, with an event stream carrying one answer turned into a JSON response."""
    start: Message | None = None
    held = bytearray()
    passing = False

    async def framed(message: Message) -> None:
        nonlocal start, passing
        if passing:
            await send(message)
        elif message["type"] == "http.response.start":
            if message.get("status") == 200 and _is_stream(message):
                start = message  # held until the stream shows what it carries
            else:
                passing = True
                await send(message)
        elif message["type"] != "http.response.body" or start is None:
            await send(message)
        else:
            held.extend(message.get("body", b""))
            more = bool(message.get("more_body", False))
            answer = _single_answer(bytes(held), ended=not more)
            if answer is _WAIT:
                return
            passing = more
            if isinstance(answer, bytes):
                await send(_as_json(start, answer))
                await send({"type": "http.response.body", "body": answer, "more_body": False})
            else:  # not one answer alone: the stream as it came
                await send(start)
                await send({"type": "http.response.body", "body": bytes(held), "more_body": more})

    return framed


_WAIT = object()
"""Not known yet: the first event is not complete, or it is the answer and the stream goes on."""


def _single_answer(data: bytes, *, ended: bool) -> bytes | object | None:
    """The answer's JSON if `data` is exactly one event carrying a response and the stream has
    ended; `_WAIT` while that may still be so; None when it is not."""
    events, rest = events_of(data)
    if not events:
        return None if ended else _WAIT
    if len(events) > 1 or rest.strip() or events[0] is None:
        return None  # more than the answer, or an event id, a retry, a comment that would be lost
    payload = events[0]
    try:
        message: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(message, dict)
        or "method" in message
        or not ("result" in message or "error" in message)
    ):
        return None  # something before the answer: a notification, or a request of the server's
    return payload if ended else _WAIT


def _is_stream(start: Message) -> bool:
    return any(
        key.lower() == b"content-type" and value.startswith(b"text/event-stream")
        for key, value in start.get("headers", ())
    )


def _as_json(start: Message, body: bytes) -> Message:
    kept = [(key, value) for key, value in start.get("headers", ()) if key.lower() not in SSE_ONLY]
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *kept]
    return {**start, "headers": headers}
