"""The hop's reader of a backend's server-sent events (`wire._Events`): the same messages
however the stream is cut into chunks, failures where they occur and not before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from gateway.errors import BackendProtocolError
from gateway.upstream import wire

STREAM = (
    b": a comment\r\n"
    b"event: message\r\n"
    b'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\r\n'
    b"\r\n"
    b"id: 7\n"
    b'data:{"jsonrpc":"2.0",\n'
    b'data: "id":1,"result":{"text":"\xc3\xbc"}}\n'
    b"\n"
    b'data: {"jsonrpc":"2.0","id":2,"result":{}}\n'
)
EXPECTED = [
    {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}},
    {"jsonrpc": "2.0", "id": 1, "result": {"text": "ü"}},
    {"jsonrpc": "2.0", "id": 2, "result": {}},  # the stream's end closes the last event's data
]


async def chunked(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def read(events: wire._Events) -> list[Any]:
    """The messages, then the failure that ended the stream (if one did)."""
    seen: list[Any] = []
    try:
        async for message in events:
            seen.append(message)
    except BackendProtocolError as error:
        seen.append(str(error))
    return seen


@pytest.mark.asyncio
async def test_the_same_messages_wherever_the_stream_is_cut() -> None:
    for cut in range(len(STREAM) + 1):
        for second in (cut, min(len(STREAM), cut + 3)):
            chunks = (STREAM[:cut], STREAM[cut:second], STREAM[second:])
            assert await read(wire._Events("b", chunked(*chunks))) == EXPECTED, (cut, second)


@pytest.mark.asyncio
async def test_a_malformed_event_fails_when_it_is_reached() -> None:
    stream = b'data: {"id":1,"result":{}}\n\ndata: not json\n\ndata: {"id":2}\n\n'
    seen = await read(wire._Events("b", chunked(stream)))
    assert seen == [{"id": 1, "result": {}}, "backend 'b': answered something that is not JSON"]


@pytest.mark.asyncio
async def test_an_event_over_the_limit_ends_the_stream_after_the_ones_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire, "MAX_EVENT_BYTES", 64)
    first = orjson.dumps({"id": 1, "result": {}})
    big = b"data: " + b"x" * 80 + b"\n\n"
    seen = await read(wire._Events("b", chunked(b"data: " + first + b"\n\n" + big + b"data: {}\n\n")))
    assert seen == [{"id": 1, "result": {}}, "backend 'b': sent an event over 64 bytes"]
    line = b"data: " + b"y" * 80  # no end of line in sight
    seen = await read(wire._Events("b", chunked(b"data: " + first + b"\n\n", line)))
    assert seen == [{"id": 1, "result": {}}, "backend 'b': sent a line over 64 bytes"]
