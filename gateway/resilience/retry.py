"""Trying again, safely: one request's attempts under one deadline (RELIABILITY.md §4).

`run_attempts` calls `attempt(timeout)` until it succeeds or a rule says stop:

- phase A (nothing sent): up to `connect_retries` more tries, whatever the request;
- phase B (may have run) and C (refused, 429/503): up to `attempts` tries in all, only for a
  request without side effects (`safe`); phase C waits the backend's Retry-After, or fails at
  once if that does not fit the deadline;
- never after an answer (phase D), a cancellation, an open breaker, or once any part of the
  answer (progress, a log line) reached the client;
- every try gets `min(per_try, time left)`, and no wait runs past the deadline;
- retries in flight to one backend stay within its budget (max(min, percent of in flight)).

Waits are full-jitter exponential (uniform in [0, min(max, base·2ⁿ)]) through tenacity.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState, wait_random_exponential

from gateway.config.resilience import RetryPolicy
from gateway.errors import BackendOverloaded, BackendRejected
from gateway.resilience.phases import Phase, classify

T = TypeVar("T")
Clock = Callable[[], float]


class BackendGate:
    """Requests and retries in flight to one backend: the concurrency cap and the retry budget."""

    def __init__(self, backend: str, *, max_concurrent: int, percent: float, min_concurrency: int) -> None:
        self.backend = backend
        self.max_concurrent = max_concurrent
        self._percent = percent
        self._min = min_concurrency
        self.in_flight = 0
        self.retrying = 0

    def slot(self) -> _Slot:
        """`async with gate.slot()`: hold one of the backend's request slots; refuse at once
        when all are taken."""
        return _Slot(self)

    def take_retry(self) -> bool:
        """Whether one more retry may start now (and count it if so)."""
        allowed = max(self._min, int(self.in_flight * self._percent / 100))
        if self.retrying >= allowed:
            return False
        self.retrying += 1
        return True

    def end_retry(self) -> None:
        self.retrying -= 1


class _Slot:
    """One request slot of a `BackendGate`, held while the block runs (a class, not a
    generator: it is taken on every call)."""

    __slots__ = ("_gate",)

    def __init__(self, gate: BackendGate) -> None:
        self._gate = gate

    async def __aenter__(self) -> None:
        gate = self._gate
        if gate.in_flight >= gate.max_concurrent:
            raise BackendOverloaded(
                gate.backend, f"{gate.in_flight} requests in flight, the limit is {gate.max_concurrent}"
            )
        gate.in_flight += 1

    async def __aexit__(self, *exc_info: object) -> None:
        self._gate.in_flight -= 1


@dataclass
class Plan:
    """What one request is allowed."""

    policy: RetryPolicy
    safe: bool
    """No side effects: may be retried after it may have run."""
    per_try: float
    deadline: float
    """Seconds for the whole request."""


async def run_attempts(
    attempt: Callable[[float], Awaitable[T]],
    plan: Plan,
    gate: BackendGate,
    *,
    answered: Callable[[], bool] = lambda: False,
    on_retry: Callable[[], None] = lambda: None,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """Run `attempt(timeout)` with the retries `plan` allows; returns its result or raises its error.

    The first attempt runs as it is (most succeed); only a failure brings in tenacity, which is
    handed that failure as its own first attempt, so the retries are exactly as they would be."""
    ends = clock() + plan.deadline
    try:
        return await attempt(min(plan.per_try, plan.deadline))
    except Exception as error:
        replay: Exception | None = error
    counts = {Phase.NOT_SENT: 0, Phase.MAYBE_RAN: 0}
    backoff = wait_random_exponential(multiplier=plan.policy.backoff.base, max=plan.policy.backoff.max)
    retrying = False
    last_error: BaseException | None = None
    delays: dict[int, float] = {}

    def may_retry(error: BaseException) -> bool:
        phase = classify(error)
        if phase is Phase.NOT_SENT:
            counts[Phase.NOT_SENT] += 1
            return counts[Phase.NOT_SENT] <= plan.policy.connect_retries
        refused_unrun = phase is Phase.REFUSED and plan.policy.rejected_means_not_run
        if phase in (Phase.MAYBE_RAN, Phase.REFUSED) and (plan.safe or refused_unrun) and not answered():
            counts[Phase.MAYBE_RAN] += 1
            return counts[Phase.MAYBE_RAN] < plan.policy.attempts
        return False

    def delay_for(state: RetryCallState, error: BaseException) -> float:
        if isinstance(error, BackendRejected) and error.retry_after is not None:
            return error.retry_after
        return float(backoff(state))

    def wait(state: RetryCallState) -> float:
        return delays.get(state.attempt_number, 0.0)

    def keep_going(state: RetryCallState) -> bool:
        nonlocal last_error
        error = state.outcome.exception() if state.outcome is not None else None
        if error is None or isinstance(error, _GiveUp):
            return False
        last_error = error
        if not may_retry(error):
            return False
        delay = delay_for(state, error)
        delays[state.attempt_number] = delay
        return clock() + delay < ends

    retryer = AsyncRetrying(retry=keep_going, wait=wait, sleep=sleep, reraise=True)
    try:
        async for trying in retryer:
            with trying:
                if replay is not None:  # the first attempt, which already failed
                    failed, replay = replay, None
                    raise failed
                if trying.retry_state.attempt_number > 1:
                    if retrying:
                        gate.end_retry()
                        retrying = False
                    if not gate.take_retry():
                        raise _GiveUp(last_error)
                    retrying = True
                    on_retry()
                left = ends - clock()
                if left <= 0:
                    raise _GiveUp(last_error)
                return await attempt(min(plan.per_try, left))
    except _GiveUp as give_up:
        raise give_up.error from None
    finally:
        if retrying:
            gate.end_retry()
    raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying returns or raises


class _GiveUp(Exception):
    """A retry that may not start: the request answers with the previous attempt's error."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__("giving up")
        self.error: BaseException = (
            error if error is not None else TimeoutError("no time left for another try")
        )
