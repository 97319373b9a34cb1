"""One request on the wire: sent, its stream read until its answer, cancelled when abandoned.

`call` is what a backend session does with a request when its link has a `Wire`: it numbers the
request, asks for progress under a token of its own when the caller wants progress, and reads
the answer's messages in order. Progress goes to `on_progress`; the backend's own requests
(a handshake-era backend asking its client to sample, elicit, list roots) go to `on_request`,
whose answer (or error) is POSTed back in the session; other notifications (log messages,
changes) go to `on_notification`. A request that runs out of time, or whose caller goes away,
is cancelled at the backend: a `notifications/cancelled` in a handshake-era session, the closed
stream in the 2026-07-28 era (its only cancellation).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types
import orjson
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from gateway.errors import BackendSessionLost, BackendTimeout, GatewayError, InternalError, to_mcp_error
from gateway.resilience.cancelling import Deadline

if TYPE_CHECKING:
    from gateway.upstream.wire import Message, Wire

SESSION_HEADER = "mcp-session-id"
PROTOCOL_HEADER = "mcp-protocol-version"
CANCEL_GRACE = 2.0
"""Seconds a cancellation notice may take to send before it is given up."""

OnRequest = Callable[[str, Mapping[str, Any] | None], Awaitable[dict[str, Any]]]
OnNotification = Callable[[str, Mapping[str, Any] | None], Awaitable[None]]

_ids = itertools.count(1)


async def call(
    wire: Wire,
    method: str,
    params: dict[str, Any],
    headers: Mapping[str, str],
    *,
    session_id: str | None,
    timeout: float,
    on_progress: ProgressFnT | None,
    on_request: OnRequest,
    on_notification: OnNotification,
) -> dict[str, Any]:
    """Send one request (its params and headers already stamped) and return its raw result.

    Raises the backend's JSON-RPC error as `MCPError`, `BackendTimeout` when no answer comes in
    time, and the `Wire`'s errors for a request that could not be sent or answered.
    """
    request_id = next(_ids)
    token = f"gw-{request_id}"
    if on_progress is not None:
        params.setdefault("_meta", {})["progressToken"] = token
    session_headers = {SESSION_HEADER: session_id} if session_id else {}
    if PROTOCOL_HEADER in headers:
        session_headers[PROTOCOL_HEADER] = headers[PROTOCOL_HEADER]
    body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    answered = False
    try:
        # asyncio's own deadline on the wire's loop: an anyio scope costs three times as much
        with Deadline(timeout, wire.loop):
            async with wire.exchange(
                body, {**headers, **session_headers}, in_session=session_id is not None
            ) as messages:
                async for message in messages:
                    if "method" not in message and (
                        message.get("id") == request_id or (message.get("id") is None and "error" in message)
                    ):  # the answer (an error about the request as a whole may carry no id)
                        answered = True
                        return result_of(message)
                    await _on_message(
                        wire, message, session_headers, token, on_progress, on_request, on_notification
                    )
        raise BackendSessionLost(wire.backend, f"the answer to {method} ended before its result")
    except TimeoutError:
        await _cancel(wire, request_id, session_headers, "timed out")
        raise BackendTimeout(wire.backend, f"no answer to {method} within {timeout:g}s") from None
    except anyio.get_cancelled_exc_class():
        if not answered:
            await _cancel(wire, request_id, session_headers, "the client went away")
        raise


def result_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC response's result, or its error raised as the `MCPError` the peer said (a
    backend's answer here; a client's answer to a backend's question in `gateway.relay.asks`)."""
    error = message.get("error")
    if isinstance(error, dict):  # the peer's own error, relayed as it said it
        raise MCPError.from_error_data(
            mcp_types.ErrorData(
                code=int(error.get("code", mcp_types.INTERNAL_ERROR)),
                message=str(error.get("message", "")),
                data=error.get("data"),
            )
        )
    result = message.get("result")
    return result if isinstance(result, dict) else {}


async def _on_message(
    wire: Wire,
    message: Message,
    session_headers: Mapping[str, str],
    token: str,
    on_progress: ProgressFnT | None,
    on_request: OnRequest,
    on_notification: OnNotification,
) -> None:
    method = message.get("method")
    if not isinstance(method, str):
        return  # an answer to something else: not this request's
    params = message.get("params")
    params = params if isinstance(params, dict) else None
    if "id" in message:  # the backend's own request, related to this one
        await wire.send(await _answer(message["id"], method, params, on_request), session_headers)
    elif method == "notifications/progress":
        if on_progress is not None and params is not None and params.get("progressToken") == token:
            total, text = params.get("total"), params.get("message")
            await on_progress(
                float(params.get("progress", 0)),
                float(total) if isinstance(total, int | float) else None,
                text if isinstance(text, str) else None,
            )
    else:
        await on_notification(method, params)


async def _answer(
    request_id: Any, method: str, params: Mapping[str, Any] | None, on_request: OnRequest
) -> Message:
    try:
        result = await on_request(method, params)
    except MCPError as error:
        return _error(request_id, error)
    except GatewayError as error:
        return _error(request_id, to_mcp_error(error))
    except Exception:
        return _error(request_id, to_mcp_error(InternalError()))
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error(request_id: Any, error: MCPError) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.error.model_dump(exclude_none=True)}


async def _cancel(wire: Wire, request_id: int, session_headers: Mapping[str, str], reason: str) -> None:
    """Tell a handshake-era session the request is abandoned (the 2026 stream closing says it)."""
    if SESSION_HEADER not in session_headers:
        return
    notice = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": request_id, "reason": reason},
    }
    with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_GRACE):
        await wire.send(notice, session_headers)
