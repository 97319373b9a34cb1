"""`StepCaller`: the workflow's client, as the workflow's steps see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import mcp_types

from gateway.dispatch.requester import Requester
from gateway.principal import Principal
from gateway.upstream.caller import Caller


class StepCaller:
    """The workflow's caller, as its steps see it: the same client, except that the workflow
    reports progress per step, so a step's own progress is not relayed under the client's token."""

    def __init__(self, caller: Requester) -> None:
        self._caller = caller

    @property
    def key(self) -> str:
        return self._caller.key

    @property
    def modern(self) -> bool:
        return self._caller.modern

    @property
    def bindable(self) -> bool:
        return self._caller.bindable

    @property
    def capabilities(self) -> mcp_types.ClientCapabilities | None:
        return self._caller.capabilities

    @property
    def principal(self) -> Principal:
        return self._caller.principal

    @property
    def progress_token(self) -> None:
        return None

    @property
    def log_level(self) -> str:
        return self._caller.log_level

    @property
    def relayed(self) -> bool:
        return self._caller.relayed

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        return None

    async def log(self, params: Mapping[str, Any]) -> None:
        await self._caller.log(params)

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        return await self._caller.request(method, params)

    def detached(self) -> Caller:
        return self._caller.detached()

    def on_session_end(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._caller.on_session_end(callback)
