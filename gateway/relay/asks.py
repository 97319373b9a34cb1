"""What a backend asks a fast-path caller's client mid-call (sampling, elicitation, roots).

The full relay hands such a request to the SDK's server, which sends it on the call's own
response stream and waits for the client to POST its answer. The fast path does the same with
`Asks`: the request goes out on the call's `Answer` (its stream starts with it), under an id of
the gateway's own (`fast-N`: the SDK's server numbers its requests on the same session, so the
two never meet), and the client's answer, a JSON-RPC response POSTed on the same session, is
handed back here by the fast path (`answered`) and acknowledged with 202 as the SDK's server
acknowledges one. A call given up while its question is open (a deadline, the client leaving)
tells the client the question is withdrawn (`notifications/cancelled`), as the SDK does.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from starlette.types import Send

from gateway.relay.answer import Answer
from gateway.upstream.hop import result_of

ID_PREFIX = "fast-"


class Asks:
    """The questions backends have put to fast-path clients, each awaiting its answer."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    async def ask(
        self, session_id: str, answer: Answer, method: str, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Send `method` to the client on `answer`'s stream and return its result (its error
        raised as the `MCPError` it is)."""
        request_id = f"{ID_PREFIX}{next(self._ids)}"
        key = (session_id, request_id)
        reply = self._waiting[key] = asyncio.get_running_loop().create_future()
        try:
            await answer.notify(_request(request_id, method, params))
            try:
                message = await reply
            except asyncio.CancelledError:
                await _withdraw(answer, request_id)
                raise
        finally:
            self._waiting.pop(key, None)
        return result_of(message)

    def answered(self, session_id: str | None, message: Mapping[str, Any]) -> bool:
        """Hand a client's response to the question it answers: True when it was one of ours."""
        request_id = message.get("id")
        if session_id is None or not isinstance(request_id, str) or not request_id.startswith(ID_PREFIX):
            return False
        if not (isinstance(message.get("result"), dict) or isinstance(message.get("error"), dict)):
            return False  # not a response the SDK's server would take either: it says what is wrong
        reply = self._waiting.get((session_id, request_id))
        if reply is None or reply.done():
            return False
        reply.set_result(dict(message))
        return True


async def accepted(send: Send) -> None:
    """The answer to a POST carrying a response or a notification: 202, no body."""
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def _request(request_id: str, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request as the SDK's server writes one: no `params` when there are none, no empty
    `_meta`."""
    out = dict(params) if params is not None else {}
    if "_meta" in out and not out["_meta"]:
        del out["_meta"]
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if out:
        message["params"] = out
    return message


async def _withdraw(answer: Answer, request_id: str) -> None:
    if answer.finished:
        return
    notice = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": request_id, "reason": "caller cancelled"},
    }
    with suppress(Exception):  # the client may be gone: then there is no one to tell
        await answer.notify(notice)
