"""Metrics, traces across the hop, request ids and JSON logs, in memory."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability import requestid
from gateway.observability.logs import JsonFormatter, RequestIdFilter
from gateway.observability.tracing import setup_from_environment
from tests.conftest import TWO_BACKENDS, connected, make_gateway, span_exporter


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return span_exporter()


def gateway_spans(finished: Any, name: str) -> list[Any]:
    """The gateway's own spans named `name` (the client's and the backend's have other scopes)."""
    return [s for s in finished if s.name == name and s.instrumentation_scope.name == "mcp_gateway"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.asyncio
async def test_metrics_count_calls_errors_and_latency_per_backend_and_tool() -> None:
    gateway = make_gateway(TWO_BACKENDS)
    async with connected(gateway) as client:
        for text in ("a", "b"):
            await client.call_tool("echo_echo", {"text": text})
        failed = await client.call_tool_mcp("r_fail", {})
        assert failed.isError
        found = samples(gateway.metrics.exposition().decode())
    ok = (("backend", "echo"), ("method", "tools/call"), ("outcome", "ok"), ("tool", "echo_echo"))
    assert found[("mcp_gateway_calls_total", ok)] == 2.0
    tool_error = (
        ("backend", "rich"),
        ("method", "tools/call"),
        ("outcome", "tool_error"),
        ("tool", "r_fail"),
    )
    assert found[("mcp_gateway_calls_total", tool_error)] == 1.0
    latency = (("backend", "echo"), ("method", "tools/call"), ("tool", "echo_echo"))
    assert found[("mcp_gateway_call_duration_seconds_count", latency)] == 2.0
    assert found[("mcp_gateway_call_duration_seconds_sum", latency)] > 0
    assert found[("mcp_gateway_backend_up", (("backend", "echo"),))] == 1.0
    assert found[("mcp_gateway_circuit_state", (("backend", "echo"), ("state", "closed")))] == 1.0
    assert found[("mcp_gateway_circuit_state", (("backend", "echo"), ("state", "open")))] == 0.0
    assert found[("mcp_gateway_retries_total", (("backend", "echo"),))] == 0.0
    assert ("mcp_gateway_in_flight", ()) in found and ("mcp_gateway_client_sessions", ()) in found


@pytest.mark.asyncio
async def test_each_gateway_has_its_own_registry() -> None:
    first, second = make_gateway(TWO_BACKENDS), make_gateway(TWO_BACKENDS)
    async with connected(first) as client:
        await client.call_tool("echo_echo", {"text": "only here"})
    assert b"echo_echo" in first.metrics.exposition()
    assert b"echo_echo" not in second.metrics.exposition()


@pytest.mark.asyncio
async def test_one_trace_spans_the_client_request_the_gateway_and_the_backend(
    spans: InMemorySpanExporter,
) -> None:
    spans.clear()
    gateway = make_gateway(TWO_BACKENDS)
    async with connected(gateway) as client:
        await client.call_tool("echo_echo", {"text": "traced"})
    finished = spans.get_finished_spans()
    ours = gateway_spans(finished, "tools/call echo_echo")
    assert len(ours) == 1, [s.name for s in finished]
    hop = ours[0]
    assert hop.attributes is not None and hop.attributes["gateway.backend"] == "echo"
    assert hop.attributes["gateway.request_id"]
    # the backend's own span continues the trace, under ours
    backend = [
        s for s in finished if s.name == "tools/call echo" and s.context.trace_id == hop.context.trace_id
    ]
    assert backend, [(s.name, s.kind) for s in finished]
    by_id = {s.context.span_id: s for s in finished}

    def ancestors(span: object) -> list[int]:
        chain = []
        parent = getattr(span, "parent", None)
        while parent is not None:
            chain.append(parent.span_id)
            parent = getattr(by_id.get(parent.span_id), "parent", None)
        return chain

    assert hop.context.span_id in ancestors(backend[0])


@pytest.mark.asyncio
async def test_a_failed_call_is_recorded_on_its_span(spans: InMemorySpanExporter) -> None:
    spans.clear()
    gateway = make_gateway(TWO_BACKENDS + "rate_limits:\n  per_principal: {rate: 1, per: 1h, burst: 1}\n")
    async with connected(gateway) as client:
        await client.call_tool("echo_echo", {"text": "one"})
        with pytest.raises(Exception, match="rate limit"):
            await client.call_tool("echo_echo", {"text": "two"})
    ours = gateway_spans(spans.get_finished_spans(), "tools/call echo_echo")
    assert len(ours) == 2 and ours[0].status.is_ok
    refused = ours[1]
    assert refused.status.status_code == trace.StatusCode.ERROR
    assert any("rate limit" in str(e.attributes) for e in refused.events)


def test_without_an_endpoint_nothing_is_exported() -> None:
    assert setup_from_environment({}) is False


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("gateway.x", logging.WARNING, __file__, 1, "backend %s down", ("b",), None)
    token = requestid.current.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        requestid.current.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "backend b down" and line["request_id"] == "req-42"
    assert line["level"] == "warning" and line["logger"] == "gateway.x" and line["time"].endswith("+00:00")


def test_a_client_request_id_is_kept_only_when_it_is_a_sane_token() -> None:
    assert requestid.accept("lb-1234.abc") == "lb-1234.abc"
    for bad in ("", "x" * 129, "evil\r\nheader: 1", "spaces are not ok", None):
        replaced = requestid.accept(bad)
        assert replaced != bad and len(replaced) == 16


@pytest.mark.asyncio
async def test_reads_through_a_template_share_one_series() -> None:
    gateway = make_gateway(TWO_BACKENDS)
    async with connected(gateway) as client:
        for item in ("1", "2", "3"):
            await client.read_resource(f"echo://echo/items/{item}")
    found = samples(gateway.metrics.exposition().decode())
    reads = {labels: value for (name, labels), value in found.items() if name == "mcp_gateway_calls_total"}
    tools = [dict(labels)["tool"] for labels in reads]
    assert tools == ["echo://echo/items/{item_id}"] and next(iter(reads.values())) == 3.0
