"""`Requester`: the client request being forwarded, as dispatch needs to know it.

A `Caller` (what a backend session relays to) that also knows the request: the progress token
the client attached, the log level it wants, and whether anything of the answer (progress, a
log line) already reached it. The relay implements it for front requests, workflows for their
steps, era translation for parked calls.
"""

from __future__ import annotations

from typing import Protocol

import mcp_types

from gateway.upstream.caller import Caller


class Requester(Caller, Protocol):
    """A client request on its way through the gateway."""

    @property
    def progress_token(self) -> mcp_types.ProgressToken | None:
        """The token the client attached for progress (None: it wants none)."""
        ...

    @property
    def log_level(self) -> str:
        """The lowest log level the client wants from the backend ("" : none asked for)."""
        ...

    @property
    def relayed(self) -> bool:
        """Whether anything of the answer (progress, a log line, a question put to the client)
        already reached the client: then a failed attempt is not tried again."""
        ...

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        """Relay progress under the client's own token."""
        ...
