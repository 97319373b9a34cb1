"""The fast path: calls, reads and prompts served straight from the HTTP request, without the
SDK's server.

The MCP SDK's server runs every request through a session transport, memory streams, a
dispatcher and FastMCP's middleware before the relay sees it. For the requests clients make
most of the time, a `tools/call` of a backend tool, a `resources/read` of a backend resource and
a `prompts/get` of a backend prompt, `FastPath` (an ASGI layer just inside the HTTP guard, which
already parsed the message) does what the relay would do with it directly: the caller's view
(`gateway.relay.targets`), the same `Dispatch.forward` (limits, rate limits, audit, metrics,
tracing, retries, deadlines, the backend's session and era), the same shaping of the result
(`gateway.relay.shaping`: the relay's, then the SDK server's), and writes the answer as the SDK
would frame it (`gateway.relay.answer`).

It takes a request only where it gives the client exactly what the full relay would:

- the SDK's server would take the request as it is, checked as it checks it
  (`gateway.relay.admission`: authentication and scopes, `Accept`, `Content-Type`, the JSON-RPC
  envelope, the params): what it refuses goes to it, and is refused as it refuses it, before any
  backend sees it;
- a 2026-07-28 request the SDK would accept (its routing headers, its `Mcp-Param-*` headers
  checked against the tool in the caller's view), for a backend that speaks 2026-07-28 too;
- or a request in a handshake-era session the gateway already knows (it has served it once);
  what a backend asks its client mid-call (sampling, elicitation, roots, as declared) goes out
  on the call's own stream and the client's answer comes back through here
  (`gateway.relay.asks`), as the SDK's server carries them;
- a tool, prompt or resource of a backend in the caller's view (not a workflow, not the search
  tools, not a result the gateway kept).

Lists (`tools/list` and the others) from such callers are answered again from the result the
full relay put on the wire for the same view, method, version, cursor and principal
(`gateway.relay.fastlists`): the first goes through the SDK's server.

Anything else goes on to the SDK's server and the full relay, unchanged. A client that goes away
cancels its call (its connection closing; in a handshake-era session also its
`notifications/cancelled`), as on the full relay.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import InboundModernRoute, classify_inbound_request
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import GatewayError, InternalError, to_mcp_error
from gateway.methods import LIST_METHODS
from gateway.observability import tracing
from gateway.principal import principal_of_scope
from gateway.relay.admission import authorized, headers_agree, params_valid, transport_takes
from gateway.relay.answer import Answer
from gateway.relay.answers import forward_params
from gateway.relay.asks import Asks, accepted
from gateway.relay.fastcaller import FastCaller
from gateway.relay.fastlists import ListAnswers
from gateway.relay.shaping import shaped
from gateway.relay.targets import FORWARDED, target_of
from gateway.resilience.cancelling import Abandonable
from gateway.scopekeys import HEADERS_KEY, LOOP_KEY, MESSAGE_KEY, ON_DISCONNECT_KEY

logger = logging.getLogger("gateway.relay")


class FastPath:
    """ASGI layer serving plain calls, reads and prompts itself; everything else goes on to `app`."""

    def __init__(self, app: ASGIApp, *, relay: Any, path: str) -> None:
        self.app = app
        self._relay = relay
        self._path = path
        self._inflight: dict[tuple[str, Any], Abandonable] = {}
        self._metrics = relay.dispatch.metrics
        self._served = {method: self._metrics.fast_path.labels(method) for method in FORWARDED}
        self._lists = ListAnswers(relay)
        self._asks = Asks()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = scope.get(MESSAGE_KEY)
        if (
            isinstance(message, dict)
            and scope.get("path") == self._path
            and authorized(scope, self._relay.config.auth)
            and transport_takes(scope[HEADERS_KEY], message)
        ):
            method = message.get("method")
            if method in FORWARDED and "id" in message:
                caller = await self._caller(scope, message)
                if caller is not None:
                    self._served[method].inc()
                    await self._serve(caller, message, scope, receive, send)
                    return
            elif method in LIST_METHODS and "id" in message:
                listed = await self._lister(scope, message)
                if listed is not None:
                    if await self._lists.serve(*listed, message, scope, receive, send, self.app):
                        self._metrics.fast_path.labels(method).inc()
                    return
            elif method == "notifications/cancelled" and await self._cancel(scope, message, send):
                return
            elif method is None and "id" in message and self._answered(scope, message):
                await accepted(send)
                return
        await self.app(scope, receive, send)

    # -- which requests ----------------------------------------------------------------------

    def _who(self, scope: Scope, message: dict[str, Any], params: dict[str, Any]) -> FastCaller | None:
        """The caller of a request the SDK's server would take as it is (admitted, its params
        valid, its era's headers in order, a known session), else None; `None` too while tracing is on
        (FastMCP's server span starts each trace)."""
        relay = self._relay
        if tracing.active():
            return None
        headers: dict[str, str] = scope[HEADERS_KEY]
        version = headers.get("mcp-protocol-version")
        if not params_valid(relay.handlers, message["method"], version, message.get("params")):
            return None  # the SDK refuses it (as it refuses it: a 400 in the 2026-07-28 era)
        principal = principal_of_scope(scope)
        if version in MODERN_PROTOCOL_VERSIONS:
            if not isinstance(classify_inbound_request(message, headers=headers), InboundModernRoute):
                return None  # the SDK answers the rejection
            return FastCaller.stateless(principal, params, version)
        if version in HANDSHAKE_PROTOCOL_VERSIONS:
            session_id = headers.get("mcp-session-id")
            connection = relay.front_sessions.serving(session_id, scope.get("user")) if session_id else None
            if session_id is None or connection is None:
                return None
            return FastCaller.in_session(principal, params, version, session_id, connection)
        return None

    async def _lister(self, scope: Scope, message: dict[str, Any]) -> tuple[FastCaller, Any] | None:
        """The caller of a list request and its view of the index, where one can be answered."""
        params = message.get("params")
        caller = self._who(scope, message, params if isinstance(params, dict) else {})
        if caller is None:
            return None
        try:
            return caller, await self._relay.index_for(caller)
        except GatewayError:
            return None  # the relay says what is wrong

    async def _caller(self, scope: Scope, message: dict[str, Any]) -> FastCaller | None:
        """The caller, if this request is one the fast path serves as the relay would."""
        relay = self._relay
        params = message.get("params")
        if not isinstance(params, dict):
            return None
        caller = self._who(scope, message, params)
        if caller is None or (caller.session_id is not None and caller.capabilities is None):
            return None  # a session whose client has not said what it can be asked
        try:
            index = await relay.index_for(caller)
        except GatewayError:
            return None  # the relay says what is wrong
        method = message["method"]
        target = target_of(
            method, params, index, workflows=relay.config.workflows, resolve_uri=relay.resolve_uri
        )
        if target is None or relay.parks(target.route, caller):
            return None  # unknown or hidden (the relay answers and audits), or era translation
        if (
            method == "tools/call"
            and caller.modern
            and not headers_agree(target.route.item, params, scope[HEADERS_KEY])
        ):
            return None  # the SDK refuses the mismatch
        caller.target = target
        return caller

    # -- serving -----------------------------------------------------------------------------

    async def _serve(
        self, caller: FastCaller, message: dict[str, Any], scope: Scope, receive: Receive, send: Send
    ) -> None:
        request_id = message["id"]
        answer = Answer(send, session_id=caller.session_id, modern=caller.modern)
        caller.answer = answer
        caller.asks = self._asks
        key = (caller.key, request_id)
        reply: dict[str, Any] | None = None
        with Abandonable(scope.get(LOOP_KEY)) as cancelled:
            if caller.session_id is not None:
                self._inflight[key] = cancelled
            watcher = _watch_disconnect(scope, receive, cancelled)
            try:
                reply = await self._call(caller, message)
            finally:
                if watcher is not None:
                    watcher.cancel()
                self._inflight.pop(key, None)
        if not cancelled.cancelled_caught:
            await answer.finish(reply)
        elif not answer.finished:
            await answer.finish(None)  # abandoned: the stream ends without a result

    async def _call(self, caller: FastCaller, message: dict[str, Any]) -> dict[str, Any]:
        method: str = message["method"]
        params: dict[str, Any] = message["params"]
        target = caller.target
        assert target is not None
        forward = forward_params(params, target.names)
        relay = self._relay
        try:
            result = await relay.dispatch.forward(
                caller, target.route, method, forward, front=target.front, raw=params
            )
            result = shaped(
                method,
                result,
                caller.version,
                server_info=relay.server_info,
                hints=relay.handlers.cache_hints,
            )
        except MCPError as error:
            return {"jsonrpc": "2.0", "id": message["id"], "error": _error_data(error)}
        except GatewayError as error:  # a result the SDK's server would refuse too
            return {"jsonrpc": "2.0", "id": message["id"], "error": _error_data(to_mcp_error(error))}
        except Exception:
            logger.exception("internal error while serving %s", method)
            internal = to_mcp_error(InternalError())
            return {"jsonrpc": "2.0", "id": message["id"], "error": _error_data(internal)}
        return {"jsonrpc": "2.0", "id": message["id"], "result": result}

    async def _cancel(self, scope: Scope, message: dict[str, Any], send: Send) -> bool:
        """A handshake-era client cancelling a call this layer serves: True when it was one."""
        headers: dict[str, str] = scope[HEADERS_KEY]
        params = message.get("params")
        session_id = headers.get("mcp-session-id")
        if not isinstance(params, dict) or session_id is None:
            return False
        cancelled = self._inflight.get((session_id, params.get("requestId")))
        if cancelled is None:
            return False
        cancelled.cancel()
        await accepted(send)
        return True

    def _answered(self, scope: Scope, message: dict[str, Any]) -> bool:
        """A client's answer to what a backend asked it during a call this layer serves: True
        when it was one (handed over to the call)."""
        headers: dict[str, str] = scope[HEADERS_KEY]
        return self._asks.answered(headers.get("mcp-session-id"), message)


def _error_data(error: MCPError) -> dict[str, Any]:
    return orjson.loads(error.error.model_dump_json(exclude_none=True))  # type: ignore[no-any-return]


def _watch_disconnect(scope: Scope, receive: Receive, cancelled: Abandonable) -> asyncio.Future[None] | None:
    """Cancel the call if its client goes away: through the connection's own hook where the
    server offers one (`gateway.front.connections`), else with a task waiting on `receive`."""
    hook = scope.get(ON_DISCONNECT_KEY)
    if isinstance(hook, list):
        hook.append(cancelled.cancel)
        return None
    watcher = asyncio.ensure_future(_until_disconnect(receive))
    watcher.add_done_callback(lambda done: None if done.cancelled() else cancelled.cancel())
    return watcher


async def _until_disconnect(receive: Receive) -> None:
    """Return when the client goes away (its body was read already). A bare asyncio task, not a
    task group: uvicorn serves on asyncio."""
    while (await receive())["type"] != "http.disconnect":
        pass
