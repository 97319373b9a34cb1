"""`json_when_single`: an event stream that carries one answer alone goes out as plain JSON (the
same bytes as the event's data); anything else goes out as the stream it was, from its start."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.front.framing import json_when_single

pytestmark = pytest.mark.asyncio

STREAM = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
    (b"mcp-session-id", b"abc"),
]
START = {"type": "http.response.start", "status": 200, "headers": STREAM}
ANSWER = b'{"jsonrpc":"2.0","id":1,"result":{"content":[]}}'
NOTE = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}'


def event(data: bytes, extra: bytes = b"") -> bytes:
    return extra + b"event: message\r\ndata: " + data + b"\r\n\r\n"


def body(data: bytes, more: bool = True) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


async def through(*messages: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    framed = json_when_single(send)
    for message in messages:
        await framed(message)
    return sent


async def test_one_answer_alone_goes_out_as_json_with_the_same_bytes() -> None:
    sent = await through(START, body(event(ANSWER)), body(b"", more=False))
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(ANSWER)).encode()),
                (b"mcp-session-id", b"abc"),
            ],
        },
        body(ANSWER, more=False),
    ]


async def test_an_answer_split_across_writes_is_put_together() -> None:
    whole = event(ANSWER)
    sent = await through(START, body(whole[:10]), body(whole[10:30]), body(whole[30:], more=False))
    assert sent[0]["headers"][0] == (b"content-type", b"application/json")
    assert sent[1] == body(ANSWER, more=False)


async def test_a_notification_first_lets_the_stream_go_out_as_it_came() -> None:
    sent = await through(START, body(event(NOTE)), body(event(ANSWER)), body(b"", more=False))
    assert sent == [START, body(event(NOTE)), body(event(ANSWER)), body(b"", more=False)]


async def test_more_after_the_answer_is_a_stream() -> None:
    sent = await through(START, body(event(ANSWER)), body(event(NOTE)), body(b"", more=False))
    assert sent == [START, body(event(ANSWER) + event(NOTE)), body(b"", more=False)]


@pytest.mark.parametrize("extra", [b"id: 7\r\n", b": ping\r\n", b"retry: 100\r\n"])
async def test_an_event_with_anything_but_its_data_is_a_stream(extra: bytes) -> None:
    sent = await through(START, body(event(ANSWER, extra)), body(b"", more=False))
    assert sent == [START, body(event(ANSWER, extra)), body(b"", more=False)]


async def test_a_stream_ending_with_nothing_is_a_stream() -> None:
    sent = await through(START, body(b"", more=False))
    assert sent == [START, body(b"", more=False)]


async def test_json_and_errors_pass_untouched() -> None:
    plain = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/json")],
    }
    refused = {"type": "http.response.start", "status": 400, "headers": STREAM}
    for start in (plain, refused):
        assert await through(start, body(b"{}", more=False)) == [start, body(b"{}", more=False)]
