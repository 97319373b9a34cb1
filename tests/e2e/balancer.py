"""A small loopback HTTP load balancer in front of gateway replicas, for the replica tests.

    python -m tests.e2e.balancer --port 9000 --upstream http://127.0.0.1:9001 --upstream http://127.0.0.1:9002

- Requests without `Mcp-Session-Id` (2026-07-28 traffic, and handshake-era `initialize`) go to the
  replicas in turn.
- Session affinity, learnt from answers: a response that creates a session (`Mcp-Session-Id`
  on an answer to a request that had none) pins that session to the replica that answered, and
  every later request carrying the id goes there (HAProxy's `stick store-response`).
- A replica that refuses the connection is skipped: the request never reached it, so trying the
  next one is safe. A pinned replica that is down is skipped the same way; the next replica then
  answers 404 for the session it does not know, which tells the client to start a new session.
  Anything that fails after the request was sent is a 502 (or a cut stream), never a retry.
- Host is passed through unchanged (the replicas list it in `http.allowed_hosts`).

`GET /_balancer` reports, per upstream, the requests sent (by JSON-RPC method), and the pinned
sessions.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from typing import Any

import anyio
import httpx2
import uvicorn

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
Scope = dict[str, Any]


class Balancer:
    """The ASGI app."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.turn = itertools.cycle(range(len(upstreams)))
        self.sessions: dict[str, int] = {}
        self.sent = [0] * len(upstreams)
        self.refused = [0] * len(upstreams)
        self.methods: list[Counter[str]] = [Counter() for _ in upstreams]
        self.client: httpx2.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["path"] == "/_balancer":
            await _respond(send, 200, json.dumps(self.report()).encode(), "application/json")
        else:
            await self._proxy(scope, receive, send)

    def report(self) -> dict[str, Any]:
        return {
            "upstreams": [
                {"url": url, "sent": self.sent[i], "refused": self.refused[i], "methods": self.methods[i]}
                for i, url in enumerate(self.upstreams)
            ],
            "sessions": self.sessions,
        }

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                timeout = httpx2.Timeout(connect=2.0, read=None, write=10.0, pool=10.0)
                self.client = httpx2.AsyncClient(timeout=timeout)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _order(self, session: str | None) -> list[int]:
        first = self.sessions.get(session) if session else None
        if first is None:
            first = next(self.turn)
        return [first] + [i for i in range(len(self.upstreams)) if i != first]

    async def _proxy(self, scope: Scope, receive: Any, send: Any) -> None:
        assert self.client is not None
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode() not in HOP_BY_HOP]
        session = next((v for k, v in headers if k == "mcp-session-id"), None)
        path = scope["raw_path"].decode() + (
            f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
        )
        response: httpx2.Response | None = None
        for index in self._order(session):
            request = self.client.build_request(
                scope["method"], self.upstreams[index] + path, headers=headers, content=body
            )
            try:
                response = await self.client.send(request, stream=True)
            except httpx2.ConnectError:
                self.refused[index] += 1
                continue  # never reached the replica: the next one may take it
            except httpx2.TransportError:
                await _respond(send, 502, b"upstream failed", "text/plain")
                return
            self.sent[index] += 1
            self.methods[index][_method(scope["method"], body)] += 1
            created = response.headers.get("mcp-session-id")
            if created and not session:
                self.sessions[created] = index
            break
        if response is None:
            await _respond(send, 502, b"no upstream", "text/plain")
            return
        try:
            await _relay(response, receive, send)
        finally:
            await response.aclose()


async def _relay(response: httpx2.Response, receive: Any, send: Any) -> None:
    """Stream the answer back; stop when the client goes away. An upstream that dies mid-answer
    cuts the client's stream too (the exception ends the connection), so the client knows."""
    headers = [
        (k.encode(), v.encode()) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    async with anyio.create_task_group() as group:

        async def watch_client() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch_client)
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        group.cancel_scope.cancel()


def _method(verb: str, body: bytes) -> str:
    """The JSON-RPC method of a POST (`GET`/`DELETE` for the others)."""
    try:
        message = json.loads(body) if verb == "POST" else None
    except ValueError:
        return verb
    return str(message.get("method", "response")) if isinstance(message, dict) else verb


async def _respond(send: Any, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True)
    args = parser.parse_args()
    uvicorn.run(
        Balancer(args.upstream),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
