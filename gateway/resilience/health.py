"""Active health checks: probing each backend on an interval, with thresholds (Envoy's model).

A probe is one cheap request on a pooled session: `ping` on the handshake era, `tools/list` on
2026-07-28 (which has no ping). A backend that answered a real request within the last interval
is healthy without a probe (traffic is the best probe). `unhealthy_threshold` failures in a row
mark it unhealthy; `healthy_threshold` successes mark it healthy again. The checker only
reports transitions; what they mean (readiness, ejection, hiding tools after a grace period,
re-listing on recovery) is the backend's business.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import anyio

from gateway.config.resilience import HealthCheck

logger = logging.getLogger("gateway.health")

Verdict = Literal["healthy", "unhealthy", "unknown"]
Probe = Callable[[float], Awaitable[None]]
Transition = Callable[[Verdict], Awaitable[None]]


class HealthChecker:
    """Probes one backend and reports when its verdict changes."""

    def __init__(
        self,
        backend: str,
        config: HealthCheck,
        probe: Probe,
        on_change: Transition,
        *,
        last_success: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.backend = backend
        self._config = config
        self._probe = probe
        self._on_change = on_change
        self._last_success = last_success
        self._clock = clock
        self._sleep = sleep
        self.verdict: Verdict = "unknown"
        self._passes = 0
        self._failures = 0
        self.probes = 0

    async def run(self) -> None:
        """Probe every interval, forever (until cancelled); the first listing is the first probe."""
        while True:
            await self._sleep(self._config.interval)
            await self.check_once()

    async def check_once(self) -> Verdict:
        """One round: skip the probe if real traffic just succeeded, else probe."""
        if self._clock() - self._last_success() < self._config.interval:
            await self._record(True)
            return self.verdict
        self.probes += 1
        try:
            with anyio.fail_after(self._config.timeout):
                await self._probe(self._config.timeout)
        except Exception as error:
            logger.debug("health probe of %s failed: %s", self.backend, error)
            await self._record(False)
        else:
            await self._record(True)
        return self.verdict

    async def _record(self, passed: bool) -> None:
        if passed:
            self._passes, self._failures = self._passes + 1, 0
            if self.verdict != "healthy" and self._passes >= self._config.healthy_threshold:
                await self._set("healthy")
        else:
            self._failures, self._passes = self._failures + 1, 0
            if self.verdict != "unhealthy" and self._failures >= self._config.unhealthy_threshold:
                await self._set("unhealthy")

    async def _set(self, verdict: Verdict) -> None:
        previous, self.verdict = self.verdict, verdict
        if previous != verdict:
            logger.info("backend %s is %s", self.backend, verdict)
            await self._on_change(verdict)
