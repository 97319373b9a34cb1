"""Failure phases: whether a failed request may have run at the backend (RELIABILITY.md §4).

- A `NOT_SENT`: nothing reached the backend (connection refused, process not started): retry.
- B `MAYBE_RAN`: sent, outcome unknown (connection dropped, no answer in time, 502/504, the
  child died): retry only if side-effect free.
- C `REFUSED`: the backend refused before running it (429/503 + Retry-After): after the delay,
  if safe.
- D `ANSWERED`: a definitive answer (JSON-RPC error, `isError` result): never.
"""

from __future__ import annotations

import enum

from gateway.errors import (
    BackendError,
    BackendRejected,
    BackendSessionLost,
    BackendTimeout,
    BackendUnavailable,
    CircuitOpen,
)


class Phase(enum.Enum):
    NOT_SENT = "A"
    MAYBE_RAN = "B"
    REFUSED = "C"
    ANSWERED = "D"


def classify(error: BaseException) -> Phase:
    """The phase a failure happened in."""
    if isinstance(error, CircuitOpen):
        return Phase.ANSWERED  # the gateway answered for the backend: never retried
    if isinstance(error, BackendUnavailable):
        return Phase.NOT_SENT
    if isinstance(error, BackendRejected):
        return Phase.REFUSED
    if isinstance(error, BackendSessionLost | BackendTimeout):
        return Phase.MAYBE_RAN
    if isinstance(error, BackendError):
        return Phase.MAYBE_RAN
    return Phase.ANSWERED


def counts_as_failure(error: BaseException) -> bool:
    """Whether a failure says something about the backend's health (for the breaker)."""
    return classify(error) in (Phase.NOT_SENT, Phase.MAYBE_RAN, Phase.REFUSED) and not isinstance(
        error, CircuitOpen
    )
