"""OpenTelemetry traces across the hop.

Each forwarded request gets a CLIENT span (`tools/call <name>`) under the span FastMCP opens
for the client's request, and its context travels to the backend in the request's `_meta`
(`traceparent`), where a FastMCP backend continues the trace. Only `opentelemetry-api` is
required (FastMCP brings it): without an SDK every span is a no-op. To export, install the
extra (`pip install 'mcp-orchestration-gateway[otel]'`) and set the standard variables
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, ...); `gateway run` then sends spans over
OTLP/HTTP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from fastmcp.telemetry import inject_trace_context
from opentelemetry import trace

logger = logging.getLogger(__name__)
tracer = trace.get_tracer("mcp_gateway")


def active() -> bool:
    """Whether a tracer provider is installed to record spans (else they cost nothing). Read
    from the API's global, which `trace.get_tracer_provider()` would look up in the environment
    on every call while it is unset."""
    return getattr(trace, "_TRACER_PROVIDER", None) is not None


_NO_SPAN = nullcontext(trace.INVALID_SPAN)


def forward_span(method: str, name: str, attributes: Mapping[str, str]) -> AbstractContextManager[trace.Span]:
    """The span of one forwarded request (errors are recorded on it); while tracing is off, one
    shared context that does nothing, not a generator made for every call."""
    if not active():
        return _NO_SPAN
    title = f"{method} {name}" if name else method
    return tracer.start_as_current_span(title, kind=trace.SpanKind.CLIENT, attributes=dict(attributes))


def carry(params: dict[str, Any]) -> None:
    """Put the current trace context into the request's `_meta` for the backend."""
    if not active():
        return
    meta = inject_trace_context(params.get("_meta"))
    if meta is not None:
        params["_meta"] = meta


def setup_from_environment(environ: Mapping[str, str] = os.environ) -> bool:
    """Export spans over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces variant)
    is set and the `otel` extra is installed; True when an exporter was installed."""
    if not (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: "
            "pip install 'mcp-orchestration-gateway[otel]'"
        )
        return False
    service = environ.get("OTEL_SERVICE_NAME", "mcp-gateway")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True
