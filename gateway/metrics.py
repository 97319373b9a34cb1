"""Prometheus metrics at `/metrics`: calls, errors and latency per backend and tool; retries,
circuit state, requests in flight and sessions per backend; client sessions.

Counters and histograms are recorded as calls finish; gauges are read from the gateway's
live state when Prometheus scrapes. Each gateway has a registry of its own (no global state),
so several gateways in one process (tests) never mix their figures. Tool labels are the names
clients call, bounded by the catalogs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from gateway.app import Gateway

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CIRCUIT_STATES = ("closed", "half_open", "open")


class Metrics:
    """The gateway's metrics registry."""

    def __init__(self, gateway: Gateway) -> None:
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
        self.registry.register(_LiveState(gateway))

    def record(self, backend: str, method: str, tool: str, outcome: str, seconds: float) -> None:
        """One forwarded request has finished."""
        self.calls.labels(backend, method, tool, outcome).inc()
        self.latency.labels(backend, method, tool).observe(seconds)

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)


class _LiveState(Collector):
    """Gauges and counters read from the gateway at scrape time."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gateway = self._gateway
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
        for name, backend in gateway.backends.items():
            up.add_metric([name], 1.0 if backend.state == "ready" and backend.healthy else 0.0)
            for state in CIRCUIT_STATES:
                circuit.add_metric([name, state], 1.0 if backend.breaker.state == state else 0.0)
            in_flight.add_metric([name], float(backend.gate.in_flight))
            sessions.add_metric([name], float(len(backend.open_sessions())))
            retries.add_metric([name], float(backend.stats["retries"]))
            ejections.add_metric([name], float(backend.breaker.ejections))
        yield from (up, circuit, in_flight, sessions, retries, ejections)
        yield GaugeMetricFamily(
            "mcp_gateway_in_flight", "Calls being forwarded now.", value=gateway.in_flight
        )
        open_sessions = float(len(gateway.sessions))
        yield GaugeMetricFamily(
            "mcp_gateway_client_sessions", "Handshake-era client sessions open.", value=open_sessions
        )


def install_metrics_route(gateway: Gateway, path: str = "/metrics") -> None:
    """Serve the metrics on the front server's HTTP app."""

    @gateway.server.custom_route(path, methods=["GET"])
    async def metrics(request: Request) -> Response:
        return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
