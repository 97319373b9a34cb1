"""The breaker, the backoff, the retry budget and the health checker on their own, with
hand-driven clocks (RELIABILITY.md §5 items 11, 12, 15, 16, 18)."""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import pytest

from gateway.config.resilience import CircuitBreaker, HealthCheck, RetryPolicy
from gateway.errors import BackendSessionLost, BackendUnavailable, CircuitOpen
from gateway.resilience.breaker import Breaker
from gateway.resilience.health import HealthChecker
from gateway.resilience.retry import BackendGate, Plan, run_attempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestBreaker:
    def test_five_failures_eject_for_30s_then_60s_capped_at_300s(self) -> None:
        clock = Clock()
        breaker = Breaker("b", CircuitBreaker(), clock=clock)
        for _ in range(4):
            breaker.failure()
        breaker.admit()  # four failures: still closed
        breaker.failure()
        with pytest.raises(CircuitOpen) as first:
            breaker.admit()
        assert first.value.retry_after == pytest.approx(30)
        cooldowns = []
        for _ in range(12):
            clock.now += 400
            breaker.admit()  # the half-open probe
            breaker.failure()  # fails: ejected again, for longer
            with pytest.raises(CircuitOpen) as again:
                breaker.admit()
            cooldowns.append(round(again.value.retry_after))
        assert cooldowns[:3] == [60, 90, 120] and cooldowns[-1] == 300

    def test_exactly_one_probe_when_the_cooldown_ends_and_success_closes(self) -> None:
        clock = Clock()
        breaker = Breaker("b", CircuitBreaker(consecutive_failures=1, base_ejection=10), clock=clock)
        breaker.failure()
        clock.now += 10
        breaker.admit()
        with pytest.raises(CircuitOpen, match="probe is in flight"):
            breaker.admit()
        breaker.success()
        assert breaker.state == "closed"
        breaker.admit()


class TestBackoff:
    @pytest.mark.asyncio
    async def test_samples_lie_in_zero_to_min_cap_base_two_to_the_n(self) -> None:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        async def fail(timeout: float) -> Any:
            raise BackendUnavailable("b", "refused")

        policy = RetryPolicy(connect_retries=6)
        gate = BackendGate("b", max_concurrent=10, percent=20, min_concurrency=3)
        for _ in range(30):
            with pytest.raises(BackendUnavailable):
                await run_attempts(fail, Plan(policy, False, 5, 50), gate, sleep=sleep)
        assert len(delays) == 30 * 6
        per_retry = [delays[i::6] for i in range(6)]
        for n, samples in enumerate(per_retry, start=1):
            bound = min(0.25, 0.025 * 2**n)
            assert all(0 <= s <= bound + 1e-9 for s in samples), (n, max(samples))
            assert len({round(s, 6) for s in samples}) > 5, "jitter: the samples differ"


class TestRetryBudget:
    @pytest.mark.asyncio
    async def test_a_hundred_failing_calls_keep_concurrent_retries_within_the_budget(self) -> None:
        gate = BackendGate("b", max_concurrent=1000, percent=20, min_concurrency=3)
        policy = RetryPolicy(attempts=3, backoff={"base": 0.001, "max": 0.001})  # type: ignore[arg-type]
        peak = 0
        first_tries = 0
        all_in = anyio.Event()

        async def fail(timeout: float) -> Any:
            nonlocal peak, first_tries
            peak = max(peak, gate.retrying)
            if gate.retrying == 0:
                first_tries += 1
                if first_tries == 100:
                    all_in.set()
            await all_in.wait()  # all 100 calls are in flight before any fails
            raise BackendSessionLost("b", "dropped")

        async def one() -> None:
            async with gate.slot():
                with contextlib.suppress(BackendSessionLost):
                    await run_attempts(fail, Plan(policy, True, 5, 50), gate)

        async with anyio.create_task_group() as group:
            for _ in range(100):
                group.start_soon(one)
        assert 0 < peak <= max(3, 20)


class TestHealthChecker:
    @pytest.mark.asyncio
    async def test_thresholds_decide_the_verdict_and_traffic_counts_as_a_probe(self) -> None:
        clock = Clock()
        seen: list[str] = []
        outcome = {"ok": False}
        last_success = {"at": 0.0}

        async def probe(timeout: float) -> None:
            if not outcome["ok"]:
                raise ConnectionError("down")

        async def changed(verdict: str) -> None:
            seen.append(verdict)

        checker = HealthChecker(
            "b",
            HealthCheck(interval=10, timeout=1, healthy_threshold=2, unhealthy_threshold=3),
            probe,
            changed,
            last_success=lambda: last_success["at"],
            clock=clock,
        )
        for _ in range(3):
            clock.now += 10
            await checker.check_once()
        assert seen == ["unhealthy"] and checker.probes == 3
        outcome["ok"] = True
        clock.now += 10
        await checker.check_once()
        assert seen == ["unhealthy"], "one pass is not enough (healthy_threshold 2)"
        clock.now += 10
        await checker.check_once()
        assert seen == ["unhealthy", "healthy"]
        last_success["at"] = clock.now
        await checker.check_once()
        assert checker.probes == 5, "a recent success is a probe that did not need sending"

    def test_health_settings_are_explicit_and_consistent(self) -> None:
        with pytest.raises(ValueError, match="timeout must not be longer than interval"):
            HealthCheck(interval=1, timeout=2)
