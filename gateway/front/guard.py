"""The HTTP guard: what is checked on a request before the MCP server sees it.

- credentials in the URL (`?access_token=`, `?token=`, `?api_key=`) are refused: 401;
- more than one `Origin` header, or `Origin: null`: 403 (the DNS-rebinding guard checks the rest);
- a body over `max_request_bytes`: 413, before reading it when `Content-Length` says so;
- a body that is not JSON, nests deeper than `max_json_depth`, or is a JSON-RPC batch: 400;
- while the gateway drains for shutdown, new requests get 503 with Retry-After;
- a handshake-era session may only be used by the principal that opened it: another
  principal presenting its `Mcp-Session-Id` gets 404, as for an unknown session.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from gateway.config.security import Limits
from gateway.observability import requestid
from gateway.policies.size import json_depth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

URL_CREDENTIALS = frozenset({"access_token", "token", "api_key", "apikey", "key", "bearer", "authorization"})
MAX_SESSIONS_TRACKED = 100_000


class HttpGuard:
    """ASGI middleware enforcing the checks above on the MCP endpoint."""

    def __init__(
        self, app: ASGIApp, *, limits: Limits, path: str, draining: Callable[[], bool] = lambda: False
    ) -> None:
        self.app = app
        self.limits = limits
        self.path = path
        self._draining = draining
        self._owners: OrderedDict[str, str] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.path):
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        rid = requestid.accept(next((v for k, v in headers if k == requestid.HEADER), None))
        requestid.current.set(rid)
        send = _with_request_id(send, rid)
        if self._draining() and scope.get("method") == "POST":
            await _reply(
                send, 503, "the gateway is shutting down", {"retry-after": "1", "connection": "close"}
            )
            return
        problem = self._check_request(scope, headers)
        if problem is not None:
            await _reply(send, *problem)
            return
        principal = _principal(scope)
        session = next((v for k, v in headers if k == "mcp-session-id"), None)
        if session is not None and self._owners.get(session, principal) != principal:
            await _reply(send, 404, "session not found")
            return
        if scope.get("method") == "POST":
            body: bytes | tuple[int, str, dict[str, str]] = 408, "the request body arrived too slowly", {}
            with anyio.move_on_after(self.limits.request_read_timeout):
                body = await self._read_body(receive, headers)
            if isinstance(body, tuple):
                await _reply(send, *body)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, self._recording(send, principal))

    def _check_request(
        self, scope: Scope, headers: list[tuple[str, str]]
    ) -> tuple[int, str, dict[str, str]] | None:
        query = scope.get("query_string", b"").decode("latin-1")
        if query and any(k.lower() in URL_CREDENTIALS for k, _ in parse_qsl(query, keep_blank_values=True)):
            return (
                401,
                "credentials in the URL are refused: send Authorization: Bearer <token>",
                {"www-authenticate": 'Bearer error="invalid_request"'},
            )
        origins = [v for k, v in headers if k == "origin"]
        if len(origins) > 1 or (origins and origins[0].strip().lower() == "null"):
            return 403, "Forbidden Origin", {}
        return None

    async def _read_body(
        self, receive: Receive, headers: list[tuple[str, str]]
    ) -> bytes | tuple[int, str, dict[str, str]]:
        limit = self.limits.max_request_bytes
        declared = next((v for k, v in headers if k == "content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return 413, f"request body of {declared} bytes exceeds the limit of {limit} bytes", {}
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400, "client disconnected", {}
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return 413, f"request body exceeds the limit of {limit} bytes", {}
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = self._check_json(body)
        return problem if problem is not None else body

    def _check_json(self, body: bytes) -> tuple[int, str, dict[str, str]] | None:
        try:
            message = json.loads(body)
        except RecursionError:
            return 400, f"JSON nests deeper than {self.limits.max_json_depth} levels", {}
        except ValueError:
            return 400, "the request body is not valid JSON", {}
        if isinstance(message, list):
            return 400, "JSON-RPC batches are not accepted: send one message per request", {}
        if json_depth(message) > self.limits.max_json_depth:
            return 400, f"JSON nests deeper than {self.limits.max_json_depth} levels", {}
        return None

    def _recording(self, send: Send, principal: str) -> Send:
        """Remember which principal a newly issued session id belongs to."""

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", []):
                    if key.lower() == b"mcp-session-id":
                        self._owners[value.decode("latin-1")] = principal
                        while len(self._owners) > MAX_SESSIONS_TRACKED:
                            self._owners.popitem(last=False)
            await send(message)

        return record


def _with_request_id(send: Send, rid: str) -> Send:
    """Add the request id to the response headers."""

    async def stamped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
        await send(message)

    return stamped


def _principal(scope: Scope) -> str:
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        return str(user.access_token.client_id)
    return "anonymous"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send: Send, status: int, text: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": text}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
