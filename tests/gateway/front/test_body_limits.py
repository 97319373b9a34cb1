"""What the HTTP guard does with a request body, at the gateway's default limits (RELIABILITY.md
§5 items 21 and 22): the size is checked before any JSON parsing, the nesting depth at its
boundary, batches refused, and a body that trickles in cut off by `limits.request_read_timeout`.

The gateway's real HTTP app in process, driven at the ASGI level where what matters is how much
of the body is read (no socket, no server process).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from fastmcp.utilities.asgi_transport import run_asgi_lifespan

from gateway.config.security import Limits
from gateway.policies.size import json_depth
from tests.conftest import make_gateway
from tests.gateway.front.raw import INIT

OPEN = "backends:\n  echo: {module: tests.fakes.echo}\n"
"""No `auth`: the guard reads and checks every body (with `auth`, only authenticated ones)."""
MIB = 1024 * 1024


def nested(depth: int) -> Any:
    """A JSON value nesting `depth` levels (`[[...]]`)."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def init_of_depth(depth: int) -> bytes:
    """An `initialize` request whose whole message nests exactly `depth` levels."""
    message = {**INIT, "params": {**INIT["params"], "pad": nested(depth - 2)}}
    assert json_depth(message) == depth
    return json.dumps(message).encode()


class Exchange:
    """One request into the app: what it asked for (`reads`) and what it answered."""

    def __init__(self, chunks: list[bytes], *, then_stall: bool = False) -> None:
        self._chunks = list(chunks)
        self._then_stall = then_stall
        self.reads = 0
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        if self._chunks:
            chunk = self._chunks.pop(0)
            more = bool(self._chunks) or self._then_stall
            return {"type": "http.request", "body": chunk, "more_body": more}
        await anyio.sleep_forever()  # the client stays connected until the answer is sent
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def text(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body").decode()


def scope(headers: dict[str, str]) -> dict[str, Any]:
    raw = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json, text/event-stream"),
    ]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"", "root_path": "",
        "headers": raw, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip


async def post(exchange: Exchange, config: str = OPEN, **headers: str) -> Exchange:
    gateway = make_gateway(config)
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    async with run_asgi_lifespan(app):
        with anyio.fail_after(10):
            await app(scope(headers), exchange.receive, exchange.send)
    return exchange


def test_the_default_body_limit_is_one_mebibyte() -> None:
    assert Limits().max_request_bytes == MIB


@pytest.mark.asyncio
class TestSizeBeforeParsing:
    async def test_a_declared_length_over_1_mib_is_413_with_nothing_read(self) -> None:
        """`Content-Length: 1 MiB + 1`: refused on the header alone, not one body byte asked for."""
        exchange = await post(Exchange([b"not json at all"]), **{"content-length": str(MIB + 1)})
        assert exchange.status == 413 and exchange.reads == 0
        assert f"exceeds the limit of {MIB} bytes" in exchange.text

    async def test_a_streamed_body_over_1_mib_is_413_not_a_json_error(self) -> None:
        """No length given, 64 KiB chunks of bytes that are not JSON: the size stops it (413, not
        400 "not valid JSON"), and reading stops at the first chunk past the limit."""
        chunks = [b"x" * (64 * 1024)] * 40  # 2.5 MiB on offer
        exchange = await post(Exchange(chunks))
        assert exchange.status == 413, exchange.text
        assert "not valid JSON" not in exchange.text
        assert exchange.reads == MIB // (64 * 1024) + 1

    async def test_exactly_1_mib_of_json_passes_the_size_check(self) -> None:
        body = json.dumps(INIT).encode()
        body += b" " * (MIB - len(body))
        exchange = await post(Exchange([body]), **{"content-length": str(len(body))})
        assert exchange.status == 200, exchange.text


@pytest.mark.asyncio
class TestShape:
    async def test_json_nesting_31_levels_is_400(self) -> None:
        exchange = await post(Exchange([init_of_depth(31)]))
        assert exchange.status == 400 and "JSON nests deeper than 30 levels" in exchange.text

    async def test_json_nesting_30_levels_is_served(self) -> None:
        exchange = await post(Exchange([init_of_depth(30)]))
        assert exchange.status == 200, exchange.text

    async def test_a_json_rpc_batch_is_400(self) -> None:
        exchange = await post(Exchange([json.dumps([INIT, {**INIT, "id": 2}]).encode()]))
        assert exchange.status == 400 and "batches are not accepted" in exchange.text


@pytest.mark.asyncio
async def test_a_body_that_stops_arriving_gets_408_at_the_read_timeout() -> None:
    """Slowloris on the body: half a message, then nothing; `request_read_timeout` ends it."""
    config = "limits: {request_read_timeout: 200ms}\n" + OPEN
    started = anyio.current_time()
    exchange = await post(Exchange([b'{"jsonrpc": "2.0", '], then_stall=True), config)
    assert exchange.status == 408 and "arrived too slowly" in exchange.text
    assert anyio.current_time() - started < 5
