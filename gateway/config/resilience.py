"""Configuration of how the gateway treats a failing backend: deadlines, retries, the circuit
breaker, concurrency caps, health checks. Defaults follow Envoy's (RELIABILITY.md §1): finite
timeouts, no retries of work that may have run unless the operator says it is safe.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from gateway.config.model_base import Frozen
from gateway.config.types import PositiveDuration


class Backoff(Frozen):
    """Jittered exponential backoff between attempts."""

    base: PositiveDuration = 0.025
    """First delay (Envoy: 25 ms)."""
    max: PositiveDuration = 0.25
    """Longest delay (Envoy: 10 x base)."""


class RetryBudget(Frozen):
    """At most this many retries in flight to one backend at once."""

    percent: Annotated[float, Field(gt=0, le=100)] = 20.0
    """Share of the requests in flight to the backend (Envoy: 20%)."""
    min_concurrency: Annotated[int, Field(ge=0)] = 3
    """Always allowed, however little traffic there is (Envoy: 3)."""


class RetryPolicy(Frozen):
    """When a failed request is tried again (see RELIABILITY.md §4).

    A request that never reached the backend (refused connection, process not started) is tried
    again up to `connect_retries` times, whatever it is. One that may have run (the connection
    dropped, no answer in time, 502/504) or that the backend refused (429/503) is tried again,
    up to `attempts` in all, only when it has no side effects: list, read and completion
    requests, and tools listed in `idempotent_tools` (or, with `trust_annotations`, marked
    read-only or idempotent by the backend). Never after an answer, a cancellation, or once
    anything of the answer reached the client.
    """

    attempts: Annotated[int, Field(ge=1, le=10)] = 1
    """Tries in all for requests that may have run (1: no retries)."""
    connect_retries: Annotated[int, Field(ge=0, le=10)] = 2
    """Extra tries when nothing was sent."""
    backoff: Backoff = Backoff()
    """Delays between tries."""
    budget: RetryBudget = RetryBudget()
    """Retries in flight at once."""
    rejected_means_not_run: bool = False
    """Whether a 429/503 answer to `tools/call` means the tool did not run (so it may be retried)."""


class CircuitBreaker(Frozen):
    """Outlier ejection: after consecutive failures, calls fail fast for a cooldown."""

    consecutive_failures: Annotated[int, Field(ge=1)] = 5
    """Failures in a row that eject the backend (Envoy: 5)."""
    base_ejection: PositiveDuration = 30.0
    """First cooldown; the nth ejection lasts n times as long (Envoy: 30 s)."""
    max_ejection: PositiveDuration = 300.0
    """Longest cooldown (Envoy: 300 s)."""

    @model_validator(mode="after")
    def _ordered(self) -> CircuitBreaker:
        if self.max_ejection < self.base_ejection:
            raise ValueError("max_ejection must not be shorter than base_ejection")
        return self


class HealthCheck(Frozen):
    """Active probes of a backend (a ping, or a list on the 2026-07-28 era)."""

    interval: PositiveDuration = 10.0
    """Time between probes."""
    timeout: PositiveDuration = 5.0
    """A probe without an answer by then failed."""
    healthy_threshold: Annotated[int, Field(ge=1)] = 1
    """Passing probes in a row that mark it healthy."""
    unhealthy_threshold: Annotated[int, Field(ge=1)] = 2
    """Failing probes in a row that mark it unhealthy."""

    @model_validator(mode="after")
    def _timeout_fits(self) -> HealthCheck:
        if self.timeout > self.interval:
            raise ValueError("timeout must not be longer than interval")
        return self
