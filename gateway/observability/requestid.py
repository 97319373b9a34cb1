"""The request id: one per client request, in logs, audit records, responses and the hop.

Over HTTP it is the client's `X-Request-Id` when that is a sane token (a load balancer's id
carries through), otherwise a new one; the response carries it back. Over stdio each forwarded
request gets a new one. It travels to HTTP backends as `X-Request-Id` too.

A new id is 16 hex digits: 6 drawn at random when the process starts (so replicas' ids differ)
and a 40-bit counter. It names a request, it grants nothing, so it need not be unguessable, and
drawing random bytes from the system for every request cost a system call each.
"""

from __future__ import annotations

import itertools
import re
import secrets
from contextvars import ContextVar

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

current: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)


_PREFIX = secrets.token_hex(3)
_COUNTER = itertools.count(1)


def new() -> str:
    """A fresh request id."""
    return f"{_PREFIX}{next(_COUNTER) & 0xFF_FFFF_FFFF:010x}"


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
