"""Health endpoints: `/healthz` (the process serves) and `/readyz` (the backends do).

`/healthz` answers 200 as long as the process can answer at all; it never looks at backends,
so an orchestrator does not restart a healthy gateway because a backend is down. `/readyz`
answers 200 once every backend not marked `optional` has been listed successfully, else 503,
with each backend's state in the JSON body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from gateway.app import Gateway


def readiness(gateway: Gateway) -> tuple[bool, dict[str, Any]]:
    """Whether the gateway is ready, and the per-backend report behind the answer."""
    report: dict[str, Any] = {}
    ready = True
    for name, backend in gateway.backends.items():
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


def install_health_routes(gateway: Gateway) -> None:
    """Add `/healthz` and `/readyz` to the front server's HTTP app."""

    @gateway.server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @gateway.server.custom_route("/readyz", methods=["GET"])
    async def readyz(request: Request) -> JSONResponse:
        ready, report = readiness(gateway)
        body = {"status": "ready" if ready else "unready", "backends": report}
        return JSONResponse(body, status_code=200 if ready else 503)
