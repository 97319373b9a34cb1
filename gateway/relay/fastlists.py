"""Lists answered from the bytes the full relay gave: `ListAnswers`, the fast path's list cache.

A list's answer depends only on the caller's view of the route index, the method, the protocol
version, the cursor, the principal (search mode, workflows) and the configuration; the SDK's
server nonetheless validates and re-serializes the whole result for every request, which for
a few hundred tools is nearly all the time a `tools/list` takes. So the first such request goes
through the full relay as usual, and the result it put on the wire is kept; the next identical
request is answered with that result under its own id, framed as the SDK frames it (the
result kept encoded: a few hundred tools are tens of kilobytes to encode again). An index
rebuilt (a catalog change, a health verdict, a reload) is a new object, and a new configuration
too: entries made for the old ones are never served again and age out (`MAX_ENTRIES`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.relay.answer import Answer, events_of
from gateway.relay.fastcaller import FastCaller
from gateway.routing.index import RouteIndex

MAX_ENTRIES = 512
Key = tuple[int, int, str, str, Any, str]


class ListAnswers:
    """The wire results of lists, per caller's index, answered again without the SDK's server."""

    def __init__(self, relay: Any) -> None:
        self._relay = relay
        self._entries: OrderedDict[Key, tuple[RouteIndex, Any, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def serve(
        self, caller: FastCaller, index: RouteIndex, message: dict[str, Any], scope: Scope, receive: Receive,
        send: Send, app: ASGIApp,
    ) -> bool:  # fmt: skip
        """Answer from the cache (True), or let `app` answer and keep its result (False)."""
        params = message.get("params")
        cursor = params.get("cursor") if isinstance(params, dict) else None
        config = self._relay.config
        key = (id(index), id(config), message["method"], caller.version, cursor, caller.principal.name)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is index and entry[1] is config:
            self._entries.move_to_end(key)
            answer = Answer(send, session_id=caller.session_id)
            # the kept result is spliced in as encoded: what orjson makes of the whole message
            request_id = orjson.dumps(message["id"])
            await answer.finish_encoded(b'{"jsonrpc":"2.0","id":%b,"result":%b}' % (request_id, entry[2]))
            return True
        captured = _Capture(send)
        await app(scope, receive, captured)
        result = captured.result(message["id"])
        if (
            result is not None
            and self._relay.config is config
            and await self._relay.index_for(caller) is index
        ):
            self._entries[key] = (index, config, orjson.dumps(result))
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return False


class _Capture:
    """Passes a response on, keeping its body to read the result from."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.kind = b""
        self.body = bytearray()

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.kind = next((v for k, v in message.get("headers", ()) if k.lower() == b"content-type"), b"")
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
        await self._send(message)

    def result(self, request_id: Any) -> dict[str, Any] | None:
        """The result the response carried for `request_id`, if it is one plain success."""
        if self.status != 200:
            return None
        data = bytes(self.body)
        if self.kind.startswith(b"text/event-stream"):
            events, rest = events_of(data)
            if len(events) != 1 or events[0] is None or rest.strip():
                return None  # something came before the result: not a plain answer
            data = events[0]
        try:
            answer = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            return None
        result = answer.get("result")
        return result if isinstance(result, dict) else None
