"""The front door, second pass: nothing read before authentication, no side door, bounded.

The gateway's real HTTP app in process (no socket), except where the socket is the point (a
client trickling its headers, the connection cap): there a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from fastmcp.utilities.asgi_transport import run_asgi_lifespan
from starlette.applications import Starlette

from gateway.front.connections import protocol_with_header_deadline
from tests.conftest import make_gateway
from tests.gateway.front.raw import HEADERS, INIT
from tests.serving import serving

KEY = "ops-key-0123456789abcdef"
OTHER = "analyst-key-0123456789ab"
AUTHED = f"""
auth:
  api_keys:
    ops: {{key: "{KEY}"}}
    analyst: {{key: "{OTHER}"}}
limits:
  max_request_bytes: 65536
backends:
  echo: {{module: tests.fakes.echo}}
"""


@asynccontextmanager
async def front(
    config: str = AUTHED, transport: str = "http"
) -> AsyncIterator[tuple[Starlette, httpx2.AsyncClient]]:
    gateway = make_gateway(config)
    app = gateway.http_app(transport=transport, host="127.0.0.1", port=80)  # type: ignore[arg-type]
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1") as client,
    ):
        client.gateway = gateway  # type: ignore[attr-defined]
        yield app, client


def bearer(key: str = KEY) -> dict[str, str]:
    return {**HEADERS, "authorization": f"Bearer {key}"}


@pytest.mark.asyncio
class TestNothingBeforeAuthentication:
    async def test_a_batch_without_credentials_is_unauthorized_not_malformed(self) -> None:
        async with front() as (_, client):
            response = await client.post("/mcp", content=b"[1]", headers=HEADERS)
        assert response.status_code == 401

    async def test_an_unauthenticated_body_is_never_read(self) -> None:
        """The 401 comes before the first byte of the body is asked for."""
        async with front() as (app, _):
            reads = 0
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                nonlocal reads
                reads += 1
                return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/mcp",
                "raw_path": b"/mcp",
                "query_string": b"",
                "root_path": "",
                "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                            (b"content-length", str(1024 * 1024).encode())],
                "client": ("127.0.0.1", 5000),
                "server": ("127.0.0.1", 80),
                "state": {},
            }  # fmt: skip
            await app(scope, receive, send)
        assert sent[0]["status"] == 401 and reads == 0

    async def test_a_good_key_still_gets_its_body_checked(self) -> None:
        async with front() as (_, client):
            response = await client.post("/mcp", content=b"[1]", headers=bearer())
        assert response.status_code == 400 and "batches" in response.text


@pytest.mark.asyncio
class TestNoSideDoor:
    """The SSE front's `/messages/` endpoint is guarded like `/sse`."""

    @pytest.mark.parametrize(
        ("body", "query", "headers", "status"),
        [
            (b"{}" + b" " * (2 * 1024 * 1024), "", {}, 413),
            (b"[" * 100 + b"]" * 100, "", {}, 400),
            (json.dumps(INIT).encode(), "&access_token=abc", {}, 401),
        ],
        ids=["2 MiB", "nested 100 deep", "token in the URL"],
    )
    async def test_messages_are_checked_before_the_server_sees_them(
        self, body: bytes, query: str, headers: dict[str, str], status: int
    ) -> None:
        async with front(AUTHED, "sse") as (_, client):
            response = await client.post(
                f"/messages/?session_id=0123456789abcdef{query}",
                content=body,
                headers={**bearer(), **headers},
            )
        assert response.status_code == status

    async def test_two_origins_are_forbidden_on_messages_too(self) -> None:
        async with front(AUTHED, "sse") as (_, client):
            request = client.build_request(
                "POST", "/messages/?session_id=00", content=b"{}", headers=bearer()
            )
            request.headers = httpx2.Headers(
                [*request.headers.multi_items(), ("origin", "http://a"), ("origin", "http://b")]
            )
            response = await client.send(request)
        assert response.status_code == 403


@pytest.mark.asyncio
async def test_a_request_with_both_content_length_and_chunked_is_refused() -> None:
    async with front() as (app, _):
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {KEY}".encode()),
                        (b"content-length", b"2"), (b"transfer-encoding", b"chunked")],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)
    assert sent[0]["status"] == 400


@pytest.mark.asyncio
async def test_one_principal_cannot_take_every_session() -> None:
    """Past its own cap a key's new session is refused with a JSON-RPC error; others go on."""
    async with front(AUTHED + "http: {max_sessions_per_principal: 3}\n") as (_, client):
        statuses = []
        for _ in range(4):
            response = await client.post("/mcp", json=INIT, headers=bearer())
            statuses.append(response.status_code)
        refused = response.json()
        other = await client.post("/mcp", json=INIT, headers=bearer(OTHER))
        ended = await client.request(
            "DELETE", "/mcp", headers={**bearer(), "mcp-session-id": _first_session(client)}
        )
        again = await client.post("/mcp", json=INIT, headers=bearer())
    assert statuses == [200, 200, 200, 429]
    assert "max_sessions_per_principal: 3" in refused["error"]["message"] and refused["id"] == 1
    assert other.status_code == 200
    assert ended.status_code in (200, 204) and again.status_code == 200, "an ended session frees its place"


def _first_session(client: httpx2.AsyncClient) -> str:
    ledger = client.gateway.front_sessions  # type: ignore[attr-defined]
    return next(iter(ledger._entries))


@pytest.mark.asyncio
async def test_a_client_trickling_its_headers_is_cut_off() -> None:
    """A real socket: one header line now and then never completes a request; it is closed."""
    async with serving(_hello, lifespan="off", http=protocol_with_header_deadline(0.3)) as url:
        port = int(url.rsplit(":", 1)[1])
        stream = await anyio.connect_tcp("127.0.0.1", port)
        await stream.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        with anyio.fail_after(3):
            assert await _closed(stream), "the server closed the connection"
        fine = await anyio.connect_tcp("127.0.0.1", port)
        await fine.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        with anyio.fail_after(3):
            assert b"200" in await fine.receive()


@pytest.mark.asyncio
async def test_a_long_request_after_another_on_the_same_connection_is_not_cut_off() -> None:
    """uvicorn starts a pipelined request once the one before has answered, before that one's
    task has ended: the deadline for headers must not come back while the second one runs."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/long":
            await anyio.sleep(0.6)  # a request that runs past the 0.2 s header deadline
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        await anyio.sleep(0.05)  # work after the answer (audit, metrics) while the next one starts

    async with serving(app, lifespan="off", http=protocol_with_header_deadline(0.2)) as url:
        stream = await anyio.connect_tcp("127.0.0.1", int(url.rsplit(":", 1)[1]))
        request = "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        await stream.send((request.format("/short") + request.format("/long")).encode())
        received = b""
        with anyio.fail_after(5):
            while received.count(b"200 OK") < 2:
                chunk = await stream.receive()
                assert chunk, f"the connection was closed after {received!r}"
                received += chunk
        await stream.aclose()


@pytest.mark.asyncio
async def test_a_connection_busy_past_the_deadline_with_quick_requests_stays_open() -> None:
    """The deadline counts from the end of the last response, not from the connection's first
    wait (one timer per connection fires early and sets itself again)."""
    async with serving(_hello, lifespan="off", http=protocol_with_header_deadline(0.2)) as url:
        stream = await anyio.connect_tcp("127.0.0.1", int(url.rsplit(":", 1)[1]))
        started = anyio.current_time()
        answered = 0
        with anyio.fail_after(5):
            while anyio.current_time() - started < 0.6:  # three deadlines' worth of requests
                await stream.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert b"200" in await stream.receive(), "answered on the same connection"
                answered += 1
        assert answered > 3
        await stream.aclose()


async def _closed(stream: Any) -> bool:
    try:
        while await stream.receive():
            pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
        return True
    return True


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
