"""The relay's boundary: what a client is answered when the gateway itself fails.

Every request handler the relay installs is wrapped here. A JSON-RPC error (the gateway's own,
mapped once by `to_mcp_error`, or a backend's) goes to the client as it is; anything else is a
fault inside the gateway: it is logged with its traceback and the request id, and the client gets
`Internal error` (-32603) and nothing of its text, in both eras. (Left alone, the SDK would answer
a handshake-era client with the exception's own message.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.shared.exceptions import MCPError

from gateway.errors import InternalError, to_mcp_error

logger = logging.getLogger("gateway.relay")

Ctx = TypeVar("Ctx")
Params = TypeVar("Params")
Handler = Callable[[Ctx, Params], Awaitable[Any]]


def masked(method: str, handler: Handler[Ctx, Params]) -> Handler[Ctx, Params]:
    """`handler`, answering any fault that is not a JSON-RPC error with a bare internal error."""

    async def answer(ctx: Ctx, params: Params) -> Any:
        try:
            return await handler(ctx, params)
        except MCPError:
            raise
        except Exception:
            logger.exception("internal error while serving %s", method)
            raise to_mcp_error(InternalError()) from None

    return answer
