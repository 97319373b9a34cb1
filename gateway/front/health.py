"""The process endpoints: `/healthz` (the process serves), `/readyz` (the backends do), and
`/metrics` (Prometheus).

`/healthz` answers 200 as long as the process can answer at all; it never looks at backends,
so an orchestrator does not restart a healthy gateway because a backend is down. `/readyz`
answers 200 once every backend not marked `optional` has been listed successfully, else 503,
with each backend's state in the JSON body. None of them needs credentials: keep the port
internal, or turn `http.metrics` off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastmcp import FastMCP
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.observability.metrics import CONTENT_TYPE, Metrics
from gateway.upstream.backend import Backend


def readiness(backends: Mapping[str, Backend]) -> tuple[bool, dict[str, Any]]:
    """Whether the gateway is ready, and the per-backend report behind the answer."""
    report: dict[str, Any] = {}
    ready = True
    for name, backend in backends.items():
        listing = backend.listing
        entry: dict[str, Any] = {
            "state": backend.state,
            "health": backend.health.verdict if backend.health is not None else "unchecked",
            "circuit": backend.breaker.state,
            "kind": backend.link.kind,
            "optional": backend.config.optional,
            "sessions": len(backend.open_sessions()),
            "stats": dict(backend.stats),
        }
        if listing is not None:
            entry["tools"] = len(listing.tools)
        if backend.protocol_version:
            entry["protocol_version"] = backend.protocol_version
        if backend.last_error:
            entry["error"] = backend.last_error
        report[name] = entry
        if (backend.state != "ready" or not backend.healthy) and not backend.config.optional:
            ready = False
    return ready, report


def install_health_routes(server: FastMCP[Any], backends: Mapping[str, Backend]) -> None:
    """Add `/healthz` and `/readyz` to the server's HTTP app (`backends`: the live mapping)."""

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @server.custom_route("/readyz", methods=["GET"])
    async def readyz(request: Request) -> JSONResponse:
        ready, report = readiness(backends)
        body = {"status": "ready" if ready else "unready", "backends": report}
        return JSONResponse(body, status_code=200 if ready else 503)


def install_metrics_route(server: FastMCP[Any], metrics: Metrics, path: str = "/metrics") -> None:
    """Serve the metrics on the server's HTTP app."""

    @server.custom_route(path, methods=["GET"])
    async def exposition(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)
