"""The request id: one per client request, in logs, audit records, responses and the hop.

Over HTTP it is the client's `X-Request-Id` when that is a sane token (a load balancer's id
carries through), otherwise a new one; the response carries it back. Over stdio each forwarded
request gets a new one. It travels to HTTP backends as `X-Request-Id` too.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

current: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)


def new() -> str:
    """A fresh request id."""
    return secrets.token_hex(8)


def accept(offered: str | None) -> str:
    """The client's id if it is a sane token, else a new one (never echo arbitrary bytes)."""
    if offered is not None and _SANE.fullmatch(offered):
        return offered
    return new()


def ensure() -> str:
    """The current request's id, creating one when none is set (stdio)."""
    value = current.get()
    if value is None:
        value = new()
        current.set(value)
    return value
