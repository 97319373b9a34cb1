"""The backends page's data: each backend's state, health, circuit, era, link, sessions, calls in
flight, and its recent calls/s, error rate and latency percentiles.

Everything is read through the backends' public state (what `/readyz` and `/metrics` read too);
the figures come from `MetricsHistory`. A visitor without the `admin` scope gets the backends its
view reaches, and no others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.console.history import Rates
from gateway.upstream.backend import Backend

ERA_NAMES = {"legacy": "2025-11-25", "modern": "2026-07-28"}
"""How the console names the eras (by their newest protocol version)."""


def backend_row(backend: Backend, rates: Rates | None) -> dict[str, Any]:
    """One backend as the console shows it."""
    config = backend.config
    health = backend.health
    listing = backend.listing
    row: dict[str, Any] = {
        "name": backend.name,
        "namespace": backend.namespace,
        "description": config.description,
        "state": backend.state,
        "health": health.verdict if health is not None else "unchecked",
        "health_interval_s": config.health.interval if config.health is not None else None,
        "healthy": backend.state == "ready" and backend.healthy,
        "hidden": backend.hidden,
        "circuit": backend.breaker.state,
        "ejections": backend.breaker.ejections,
        "kind": backend.link.kind,
        "link": backend.link.describe(),
        "protocol_version": backend.protocol_version,
        "eras": {ERA_NAMES[era]: speaks for era, speaks in backend.eras.speaks.items()},
        "session": config.session,
        "sessions": len(backend.open_sessions()),
        "in_flight": backend.gate.in_flight,
        "optional": config.optional,
        "error": backend.last_error,
        "stats": dict(backend.stats),
        "counts": {
            "tools": len(listing.tools),
            "prompts": len(listing.prompts),
            "resources": len(listing.resources),
            "templates": len(listing.templates),
        }
        if listing is not None
        else None,
    }
    row["rates"] = rates.as_dict() if rates is not None else None
    return row


def backend_rows(
    backends: Iterable[Backend], rates: Mapping[str, Rates], *, reaches: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every backend (only those named in `reaches`, when given), in configuration order."""
    return [
        backend_row(backend, rates.get(backend.name))
        for backend in backends
        if reaches is None or backend.name in reaches
    ]
