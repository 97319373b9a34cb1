"""Translating between the protocol eras when a backend needs input from the user.

The two eras ask for input in opposite ways. A handshake-era (2025-11-25) server *pushes* a
request to its client in the middle of a call (`elicitation/create`, `sampling/createMessage`,
`roots/list`) and waits for the answer. A 2026-07-28 server cannot push: it *returns*
`input_required` with the requests, and the client calls again with the answers.

- 2026 backend, handshake-era client: `drive` answers each embedded request by pushing it to
  the client, then calls the backend again with the answers, until the backend completes.
- Handshake-era backend, 2026 client: `Parking` runs the backend call in the background; when
  the backend pushes a request, the client gets `input_required` carrying it and a state token;
  the client's retry delivers the answers to the waiting backend, and the call goes on. A call
  whose client never comes back is cancelled after `PARKED_TTL`; a client that aborts its request
  while the call runs cancels it at the backend.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.exceptions import MCPError

from gateway.dispatch.requester import Requester
from gateway.errors import (
    BackendProtocolError,
    ClientRefused,
    ClientUnreachable,
    GatewayError,
    InvalidParams,
    ShuttingDown,
)
from gateway.principal import Principal
from gateway.tasks import TaskHost
from gateway.upstream.caller import Caller, undeclared
from gateway.upstream.session import BackendSession

MAX_ROUNDS = 8
PARKED_TTL = 300.0
STATE_PREFIX = "gw-park:"


def is_input_required(result: Mapping[str, Any]) -> bool:
    """Whether a raw result asks for input (2026-07-28 multi-round-trip)."""
    return result.get("resultType") == "input_required"


async def drive(
    caller: Caller,
    session: BackendSession,
    method: str,
    params: dict[str, Any],
    result: dict[str, Any],
    *,
    timeout: float,
) -> dict[str, Any]:
    """Answer a 2026 backend's input requests by asking a handshake-era client, until done."""
    for _ in range(MAX_ROUNDS):
        if not is_input_required(result):
            return result
        requests = result.get("inputRequests") or {}
        answers: dict[str, Any] = {}
        for key, request in requests.items():
            asked = request.get("method")
            try:
                answers[key] = await caller.request(str(asked), request.get("params"))
            except MCPError as error:
                raise ClientRefused(
                    error.error.code, f"the client could not answer {asked}: {error.error.message}"
                ) from None
            except GatewayError as error:
                raise ClientRefused(
                    error.code, f"the client could not answer {asked}: {error.message}"
                ) from None
        retry = {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
        if answers:
            retry["inputResponses"] = answers
        if result.get("requestState") is not None:
            retry["requestState"] = result["requestState"]
        result = await session.request(method, retry, timeout=timeout)
    raise BackendProtocolError(session.backend, f"asked for input more than {MAX_ROUNDS} times")


Outcome = tuple[str, Any]
"""("result", raw result) | ("error", exception) | ("input", {key: request})."""


@dataclass
class _Parked:
    """One backend call waiting, in the background, for a 2026 client's answers."""

    token: str
    deadline: float
    caller: Requester
    events: MemoryObjectSendStream[Outcome]
    outcomes: MemoryObjectReceiveStream[Outcome]
    answers: dict[str, anyio.Event] = field(default_factory=dict)
    replies: dict[str, Any] = field(default_factory=dict)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class ParkingCaller:
    """The caller a parked backend call sees: pushes become `input_required` for the client."""

    def __init__(self, parked: _Parked) -> None:
        self._parked = parked

    @property
    def key(self) -> str:
        return self._parked.caller.key

    @property
    def modern(self) -> bool:
        return True

    @property
    def bindable(self) -> bool:
        return False

    @property
    def capabilities(self) -> mcp_types.ClientCapabilities | None:
        return self._parked.caller.capabilities

    @property
    def principal(self) -> Principal:
        return self._parked.caller.principal

    async def log(self, params: Mapping[str, Any]) -> None:
        await self._parked.caller.log(params)

    @property
    def progress_token(self) -> mcp_types.ProgressToken | None:
        return self._parked.caller.progress_token

    @property
    def log_level(self) -> str:
        return self._parked.caller.log_level

    @property
    def relayed(self) -> bool:
        return self._parked.caller.relayed

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        """Progress goes to whichever of the client's requests is current."""
        await self._parked.caller.progress(progress, total, message)

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        missing = undeclared(self.capabilities, method, params)
        if missing is not None:
            raise ClientUnreachable(f"the client did not declare {missing}: {method} is not sent to it")
        key = f"{method.replace('/', '_')}-{secrets.token_hex(4)}"
        arrived = anyio.Event()
        self._parked.answers[key] = arrived
        request: dict[str, Any] = {"method": method}
        if params is not None:
            request["params"] = dict(params)
        await self._parked.events.send(("input", {key: request}))
        await arrived.wait()
        reply = self._parked.replies.pop(key)
        if not isinstance(reply, dict):
            raise InvalidParams(f"no answer to {method} in the client's retry")
        return reply

    def detached(self) -> Caller:
        return self

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        return None


class Parking:
    """Backend calls parked for 2026-07-28 clients, by state token."""

    def __init__(self, tasks: Callable[[], TaskHost | None], *, ttl: float = PARKED_TTL) -> None:
        self._tasks = tasks
        self._ttl = ttl
        self._parked: dict[str, _Parked] = {}

    def __len__(self) -> int:
        return len(self._parked)

    async def start(
        self, caller: Requester, run: Callable[[ParkingCaller], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Run `run` (a backend call) so that its pushes can be answered on later requests."""
        self._expire()
        tasks = self._tasks()
        if tasks is None:
            raise ShuttingDown("gateway is shutting down")
        send, receive = anyio.create_memory_object_stream[Outcome](16)
        parked = _Parked(secrets.token_urlsafe(18), time.monotonic() + self._ttl, caller, send, receive)

        async def background() -> None:
            with parked.scope:
                try:
                    outcome: Outcome = ("result", await run(ParkingCaller(parked)))
                except Exception as error:
                    outcome = ("error", error)
                await send.send(outcome)

        tasks.start_soon(background, name="parked-call")
        return await self._next(parked)

    def owns(self, params: Mapping[str, Any] | None) -> bool:
        """Whether a retry's `requestState` names a parked call."""
        state = (params or {}).get("requestState")
        return isinstance(state, str) and state.startswith(STATE_PREFIX)

    async def resume(self, caller: Requester, params: Mapping[str, Any]) -> dict[str, Any]:
        """Deliver a client's answers to its parked call and wait for what happens next."""
        self._expire()
        state = str(params.get("requestState", ""))
        parked = self._parked.pop(state.removeprefix(STATE_PREFIX), None)
        if parked is None:
            raise InvalidParams("the call this answer belongs to has expired")
        parked.caller = caller
        answers = params.get("inputResponses") or {}
        for key, event in list(parked.answers.items()):
            parked.replies[key] = answers.get(key)
            del parked.answers[key]
            event.set()
        return await self._next(parked)

    async def _next(self, parked: _Parked) -> dict[str, Any]:
        try:
            kind, value = await parked.outcomes.receive()
        except anyio.get_cancelled_exc_class():
            parked.scope.cancel()  # the client gave up on its request: so does the backend call
            raise
        if kind == "input":
            self._parked[parked.token] = parked
            return {
                "resultType": "input_required",
                "inputRequests": value,
                "requestState": STATE_PREFIX + parked.token,
            }
        parked.events.close()
        parked.outcomes.close()
        if kind == "error":
            raise value
        result: dict[str, Any] = value
        return result

    def _expire(self) -> None:
        now = time.monotonic()
        for token, parked in list(self._parked.items()):
            if parked.deadline < now:
                parked.scope.cancel()
                del self._parked[token]
