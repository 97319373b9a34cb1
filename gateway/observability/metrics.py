"""Prometheus metrics at `/metrics`: calls, errors and latency per backend and tool; retries,
circuit state, requests in flight and sessions per backend; client sessions.

Counters and histograms are recorded as calls finish; gauges are read from a `LiveState`
snapshot taken when Prometheus scrapes (the composition root says where it comes from). Each
gateway has a registry of its own (no global state), so several gateways in one process (tests)
never mix their figures. Tool labels are the names clients call, bounded by the catalogs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CIRCUIT_STATES = ("closed", "half_open", "open")
MAX_SERIES_CACHED = 10_000


@dataclass(frozen=True)
class BackendState:
    """One backend, as a scrape sees it."""

    name: str
    up: bool
    circuit: str
    in_flight: int
    sessions: int
    retries: int
    ejections: int


@dataclass(frozen=True)
class LiveState:
    """The gateway at one moment."""

    backends: Sequence[BackendState]
    in_flight: int
    client_sessions: int


class Metrics:
    """The gateway's metrics registry."""

    def __init__(self, live: Callable[[], LiveState]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "mcp_gateway_calls",
            "Requests forwarded to backends, by outcome (ok, tool_error, error, rejected, rate_limited).",
            ["backend", "method", "tool", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mcp_gateway_call_duration_seconds",
            "Time from receiving a request to answering it, retries included.",
            ["backend", "method", "tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fast_path = Counter(
            "mcp_gateway_fast_path_requests",
            "Requests the HTTP front served itself, without the MCP SDK's server (the fast path).",
            ["method"],
            registry=self.registry,
        )
        self.registry.register(_LiveGauges(live))
        self._series: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        """The labelled counter and histogram of each (backend, method, tool, outcome) recorded:
        looking them up by labels on every call was a percent of the gateway's CPU."""

    def record(self, backend: str, method: str, tool: str, outcome: str, seconds: float) -> None:
        """One forwarded request has finished."""
        key = (backend, method, tool, outcome)
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= MAX_SERIES_CACHED:
                self._series.clear()
            series = self._series[key] = (self.calls.labels(*key), self.latency.labels(backend, method, tool))
        series[0].inc()
        series[1].observe(seconds)

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)


class _LiveGauges(Collector):
    """Gauges and counters read from a `LiveState` snapshot at scrape time."""

    def __init__(self, live: Callable[[], LiveState]) -> None:
        self._live = live

    def collect(self) -> Iterator[Metric]:
        state = self._live()
        up = GaugeMetricFamily(
            "mcp_gateway_backend_up", "1 when the backend is listed and healthy.", labels=["backend"]
        )
        circuit = GaugeMetricFamily(
            "mcp_gateway_circuit_state",
            "1 for the circuit breaker's current state.",
            labels=["backend", "state"],
        )
        in_flight = GaugeMetricFamily(
            "mcp_gateway_backend_in_flight", "Requests in flight to the backend.", labels=["backend"]
        )
        sessions = GaugeMetricFamily(
            "mcp_gateway_backend_sessions", "Open sessions to the backend.", labels=["backend"]
        )
        retries = CounterMetricFamily(
            "mcp_gateway_retries", "Requests tried again after a failure.", labels=["backend"]
        )
        ejections = GaugeMetricFamily(
            "mcp_gateway_circuit_consecutive_ejections",
            "Times in a row the circuit breaker has opened (0 once the backend recovers).",
            labels=["backend"],
        )
        for backend in state.backends:
            name = backend.name
            up.add_metric([name], 1.0 if backend.up else 0.0)
            for value in CIRCUIT_STATES:
                circuit.add_metric([name, value], 1.0 if backend.circuit == value else 0.0)
            in_flight.add_metric([name], float(backend.in_flight))
            sessions.add_metric([name], float(backend.sessions))
            retries.add_metric([name], float(backend.retries))
            ejections.add_metric([name], float(backend.ejections))
        yield from (up, circuit, in_flight, sessions, retries, ejections)
        yield GaugeMetricFamily("mcp_gateway_in_flight", "Calls being forwarded now.", value=state.in_flight)
        yield GaugeMetricFamily(
            "mcp_gateway_client_sessions",
            "Handshake-era client sessions open.",
            value=float(state.client_sessions),
        )
