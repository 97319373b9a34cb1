"""The HTTP guard: what is checked on a request before the MCP server sees it.

Nothing is read or held for a client before it is authenticated: with `auth` configured, a
request without valid credentials goes straight to the authentication check (401), its body
unread. Then, on the MCP endpoints (`/mcp`; `/sse` and `/messages/` for SSE):

- credentials in the URL (`?access_token=`, `?token=`, `?api_key=`) are refused: 401;
- more than one `Origin` header, or `Origin: null`: 403 (the DNS-rebinding guard checks the rest);
- both `Content-Length` and `Transfer-Encoding` (a request smuggling shape), or one of MCP's own
  headers (`Mcp-Session-Id`, `Mcp-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) given twice: 400;
- a body over `max_request_bytes`: 413, before reading it when `Content-Length` says so; a body
  that does not arrive within `request_read_timeout`: 408;
- a body that is not JSON, nests deeper than `max_json_depth`, or is a JSON-RPC batch: 400;
- while the gateway drains for shutdown, new requests get 503 with Retry-After;
- a handshake-era session may only be used by the principal that opened it (another one presenting
  its id gets 404, as for an unknown session), and a new one is refused past the session caps
  (`gateway.front.ledger`): 429.

A request's answer that the MCP server streams but that is one message alone goes out as plain
JSON (`gateway.front.framing`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import orjson
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config.security import Limits
from gateway.errors import REQUEST_REJECTED
from gateway.front.framing import json_when_single
from gateway.front.ledger import SessionLedger
from gateway.observability import requestid
from gateway.policies.size import json_depth
from gateway.principal import AUTH_KIND_CLAIM
from gateway.resilience.cancelling import Deadline
from gateway.scopekeys import HEADERS_KEY, LOOP_KEY, MESSAGE_KEY

Problem = tuple[int, str, dict[str, str]]

URL_CREDENTIALS = frozenset({"access_token", "token", "api_key", "apikey", "key", "bearer", "authorization"})
SINGLE_VALUED = ("mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name")
"""MCP's headers: each names one thing, and the guard, the fast path and the SDK's server must all
read the same value (the SDK reads the first, a dict of them the last)."""
_SSE_SESSION = re.compile(rb"session_id=([0-9a-fA-F]+)")


class HttpGuard:
    """ASGI middleware enforcing the checks above on the MCP endpoints."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits,
        paths: tuple[str, ...],
        sessions: SessionLedger,
        auth_required: bool = False,
        draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self.app = app
        self.limits = limits
        self.paths = paths
        self.sessions = sessions
        self.auth_required = auth_required
        self._draining = draining

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(self.paths):
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        named = dict(headers)  # the last value of each
        rid = requestid.accept(named.get(requestid.HEADER))
        requestid.current.set(rid)
        plain_send, send = send, _with_request_id(send, rid)
        method = scope.get("method")
        if self._draining() and method == "POST":
            await _reply(
                send, 503, "the gateway is shutting down", {"retry-after": "1", "connection": "close"}
            )
            return
        problem = _check_request(scope, headers)
        if problem is not None:
            await _reply(send, *problem)
            return
        user = scope.get("user")
        if self.auth_required and not isinstance(user, AuthenticatedUser):
            await self.app(scope, receive, send)  # the authentication check answers 401, body unread
            return
        principal, kind = _principal(user)
        session = _session_of(scope, named)
        if session is not None:
            if self.sessions.owner(session) not in (None, principal):
                await _reply(send, 404, "session not found")
                return
            self.sessions.used(session)
        message: Any = None
        if method == "POST":
            read: tuple[bytes, Any] | Problem = 408, "the request body arrived too slowly", {}
            # asyncio's own deadline on the connection's loop: an anyio scope costs three times as much
            loop = scope.get(LOOP_KEY) or asyncio.get_running_loop()
            with suppress(TimeoutError), Deadline(self.limits.request_read_timeout, loop):
                read = await self._read_body(receive, named.get("content-length"))
            if len(read) == 3:
                await _reply(send, *read)
                return
            body, message = read
            if session is None and isinstance(message, dict) and message.get("method") == "initialize":
                refusal = self.sessions.refusal(principal, kind)
                if refusal is not None:
                    await _refuse_session(send, message, refusal)
                    return
            if len(named) == len(headers):
                # what is known of the request now, for the fast path (`gateway.relay.fast`); a
                # request naming a header twice is left to the SDK's server (whose value counts)
                scope[MESSAGE_KEY] = message
                scope[HEADERS_KEY] = named
            receive = _replay(body, receive)
        elif method == "GET" and session is None and path.rstrip("/").endswith("/sse"):
            refusal = self.sessions.refusal(principal, kind)  # an SSE stream opens a session
            if refusal is not None:
                await _reply(send, 429, refusal, {"retry-after": "60"})
                return
        answer = self._recording(plain_send, rid, principal, session, method)
        if method == "POST" and isinstance(message, dict) and "method" in message and "id" in message:
            answer = json_when_single(answer)  # a stream that is one answer alone goes out as JSON
        await self.app(scope, receive, answer)

    async def _read_body(self, receive: Receive, declared: str | None) -> tuple[bytes, Any] | Problem:
        """The body and the JSON message it holds, or the problem with it."""
        limit = self.limits.max_request_bytes
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
        return self._check_json(body)

    def _check_json(self, body: bytes) -> tuple[bytes, Any] | Problem:
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            if "recursion" in str(error).lower():
                return 400, f"JSON nests deeper than {self.limits.max_json_depth} levels", {}
            return 400, "the request body is not valid JSON", {}
        if isinstance(message, list):
            return 400, "JSON-RPC batches are not accepted: send one message per request", {}
        # a body with no more brackets than the limit cannot nest deeper (counted in C, not walked)
        depth_limit = self.limits.max_json_depth
        if body.count(b"{") + body.count(b"[") > depth_limit and json_depth(message) > depth_limit:
            return 400, f"JSON nests deeper than {self.limits.max_json_depth} levels", {}
        return body, message

    def _recording(self, send: Send, rid: str, principal: str, session: str | None, method: Any) -> Send:
        """Stamp the request id on the response and keep the ledger: sessions issued (a header,
        or an SSE stream's endpoint event), ended by their client (DELETE), or unknown to the
        server (404)."""
        ledger = self.sessions
        first_body = True
        stamp = (b"x-request-id", rid.encode())

        async def record(message: Message) -> None:
            nonlocal first_body
            if message["type"] == "http.response.start":
                status = message.get("status")
                headers = message.get("headers", [])
                for key, value in headers:
                    if key.lower() == b"mcp-session-id":
                        ledger.issued(value.decode("latin-1"), principal)
                message = {**message, "headers": [*headers, stamp]}
                if session is not None and (
                    status == 404 or (method == "DELETE" and status in (200, 202, 204))
                ):
                    ledger.ended(session)
            elif message["type"] == "http.response.body" and first_body and method == "GET":
                first_body = False
                found = _SSE_SESSION.search(message.get("body", b""))
                if found is not None:
                    ledger.issued(found.group(1).decode(), principal)
            await send(message)

        return record


def _check_request(scope: Scope, headers: list[tuple[str, str]]) -> Problem | None:
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
    names = {k for k, _ in headers}
    if "content-length" in names and "transfer-encoding" in names:
        return (
            400,
            "a request with both Content-Length and Transfer-Encoding is refused",
            {"connection": "close"},
        )
    if len(names) < len(headers):  # a name given twice: one of MCP's own is refused
        for name in SINGLE_VALUED:
            if sum(1 for k, _ in headers if k == name) > 1:
                return 400, f"the {name} header is given more than once", {}
    return None


def _session_of(scope: Scope, headers: dict[str, str]) -> str | None:
    """The session a request belongs to: its `Mcp-Session-Id`, or SSE's `?session_id=`."""
    session = headers.get("mcp-session-id")
    if session is not None:
        return session
    query = scope.get("query_string", b"").decode("latin-1")
    found = parse_qs(query).get("session_id") if query else None
    return found[0].replace("-", "") if found else None


async def _refuse_session(send: Send, message: dict[str, Any], refusal: str) -> None:
    """429 with a JSON-RPC error for the `initialize` (clients show its message)."""
    request_id = message.get("id")
    error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": REQUEST_REJECTED, "message": refusal}}
    payload = json.dumps(error).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": [*raw, (b"retry-after", b"60")]})
    await send({"type": "http.response.body", "body": payload})


def _with_request_id(send: Send, rid: str) -> Send:
    """Add the request id to the response headers."""

    async def stamped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
        await send(message)

    return stamped


def _principal(user: Any) -> tuple[str, str]:
    """(name, kind) of the request's principal, as far as the guard needs it."""
    if isinstance(user, AuthenticatedUser):
        claims = getattr(user.access_token, "claims", None) or {}
        return str(user.access_token.client_id), str(claims.get(AUTH_KIND_CLAIM, "api_key"))
    return "anonymous", "anonymous"


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
