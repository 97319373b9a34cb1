"""The circuit breaker: outlier ejection for one backend (Envoy's rules, RELIABILITY.md §1).

`consecutive_failures` failures in a row eject the backend for `base_ejection`; the nth ejection
lasts n times as long, up to `max_ejection`. While ejected, calls fail fast with `CircuitOpen`.
When the cooldown ends, exactly one call is let through as a probe (half-open): its success
closes the breaker (and forgives the ejection count), its failure ejects again, for longer. A
passing health check closes the breaker too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from gateway.config.resilience import CircuitBreaker
from gateway.errors import CircuitOpen

State = Literal["closed", "open", "half_open"]


class Breaker:
    """One backend's breaker; the clock is injectable."""

    def __init__(
        self, backend: str, config: CircuitBreaker, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backend = backend
        self._config = config
        self._clock = clock
        self._failures = 0
        self._ejections = 0
        self._open_until = 0.0
        self._probing = False
        self.state: State = "closed"

    def admit(self) -> None:
        """Let a call through, or raise `CircuitOpen` saying when to come back."""
        if self.state == "closed":
            return
        now = self._clock()
        if self.state == "open" and now >= self._open_until:
            self.state = "half_open"
        if self.state == "half_open" and not self._probing:
            self._probing = True
            return
        wait = max(0.0, self._open_until - now)
        raise CircuitOpen(
            self.backend,
            f"ejected after {self._config.consecutive_failures} consecutive failures; "
            + (f"retry in {wait:.1f}s" if wait else "a probe is in flight"),
            retry_after=wait,
        )

    def success(self) -> None:
        """A call (or a probe) succeeded."""
        if self.state != "closed":
            self._ejections = 0
        self.state = "closed"
        self._failures = 0
        self._probing = False

    def failure(self) -> None:
        """A call failed in a way that reflects on the backend."""
        self._failures += 1
        if self.state == "half_open" or self._failures >= self._config.consecutive_failures:
            self._eject()

    def eject(self) -> None:
        """Open now (a failing health check says the backend is down)."""
        if self.state != "open":
            self._eject()

    def release_probe(self) -> None:
        """A probe ended without a verdict (e.g. cancelled): let another probe through later."""
        self._probing = False

    def _eject(self) -> None:
        self._ejections += 1
        cooldown = min(self._config.base_ejection * self._ejections, self._config.max_ejection)
        self._open_until = self._clock() + cooldown
        self.state = "open"
        self._failures = 0
        self._probing = False

    @property
    def ejections(self) -> int:
        """How many times in a row the backend has been ejected."""
        return self._ejections
